"""The store's DPoP pieces on every backend: the shared jti registry (RFC 9449 §11.1) and the keys a
refresh token or an authorization code is bound to (§5, §10)."""

from __future__ import annotations

import threading

import pytest

from tests.core.test_dpop_answers import verified
from valetkey.core.checks import Rejected
from valetkey.core.dpop import check_not_replayed
from valetkey.core.models import AuthorizationCode, Grant, Issuance, NewCode, RefreshToken
from valetkey.store.sql import SQLStore, open_store

KEY = "a" * 64


def test_a_key_is_seen_until_it_expires(store: SQLStore) -> None:
    assert store.seen_before(KEY, expires_at=160.0, now=100.0) is False
    assert store.seen_before(KEY, expires_at=170.0, now=110.0) is True
    assert store.seen_before("b" * 64, expires_at=170.0, now=110.0) is False
    # Expired: recorded again, for its new lifetime.
    assert store.seen_before(KEY, expires_at=260.0, now=200.0) is False
    assert store.seen_before(KEY, expires_at=260.0, now=201.0) is True


def test_expired_keys_are_purged(store: SQLStore) -> None:
    store.seen_before(KEY, 160.0, 100.0)
    store.seen_before("b" * 64, 300.0, 100.0)
    assert store.purge_dpop_jti(200.0) == 1
    assert store.seen_before("b" * 64, 300.0, 201.0) is True


def test_instances_sharing_a_database_accept_a_proof_once(store_url: str) -> None:
    """Two store instances (as two server processes would hold), many threads each: one winner."""
    stores = [open_store(store_url), open_store(store_url)]
    results: list[bool] = []
    lock = threading.Lock()

    def attempt(s: SQLStore) -> None:
        seen = s.seen_before(KEY, 160.0, 100.0)
        with lock:
            results.append(seen)

    threads = [threading.Thread(target=attempt, args=(stores[i % 2],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in stores:
        s.close()
    assert sorted(results) == [False] + [True] * 7


def test_the_store_is_a_jti_registry_for_the_core_rule(store: SQLStore) -> None:
    proof = verified()
    check_not_replayed(proof, store, proof.iat)
    with pytest.raises(Rejected) as refused:
        check_not_replayed(proof, store, proof.iat + 1)
    assert refused.value.error.error == "invalid_dpop_proof"


def test_bound_keys_round_trip(store: SQLStore) -> None:
    grant = Grant("g1", "cli", "sub-1", ("read",), ("https://api",), 100.0, flow_id="f1")
    code = AuthorizationCode(
        "c" * 64, "cli", "http://127.0.0.1/cb", "sub-1", ("read",), ("https://api",),
        None, None, "g1", "f1", 100.0, 160.0, 90.0, dpop_jkt="jkt-code",
    )  # fmt: skip
    store.save_all([NewCode(code, grant)])
    refresh = RefreshToken("r" * 64, "g1", "cli", ("read",), 100.0, 900.0, dpop_jkt="jkt-refresh")
    store.save_all([Issuance(access=None, refresh=refresh)])
    assert store.get_refresh_token("r" * 64) == refresh
    seen: list[AuthorizationCode | None] = []

    def decide(c: AuthorizationCode | None, _replayed: bool) -> Issuance:
        seen.append(c)
        return Issuance(access=None)

    store.redeem_code("c" * 64, 110.0, decide)
    assert seen[0] is not None and seen[0].dpop_jkt == "jkt-code"
