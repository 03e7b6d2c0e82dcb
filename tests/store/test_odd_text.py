"""Text no database column can hold (NUL: PostgreSQL refuses it; unpaired surrogates: not UTF-8),
the same on every backend: a lookup by it finds nothing, a write of it is refused with ValueError
before it reaches the driver, and nothing raises anything else."""

from __future__ import annotations

import pytest

from tests.store.test_contract import accept, code, grant, rotate_ok, tokens
from valetkey.core.checks import Rejected
from valetkey.core.models import (
    AccessTokenRecord,
    AuthorizationCode,
    Client,
    Issuance,
    LoginSession,
    NewCode,
    Resource,
    User,
)
from valetkey.store.sql import SQLStore

ODD = ["cli\x00", "\x00", "a\x00b" * 10, "caf\udce9", "\ud800"]


@pytest.mark.parametrize("odd", ODD)
def test_a_lookup_by_odd_text_finds_nothing(store: SQLStore, odd: str) -> None:
    store.upsert_client(Client("cli"))
    store.save_all([NewCode(code(), grant())])
    assert store.get_client(odd) is None
    assert store.get_user(odd) is None and store.get_user_by_username(odd) is None
    assert store.get_session(odd) is None
    assert store.get_session_and_consent(odd, "cli") == (None, ())
    assert store.get_session_and_consent("d1", odd) == (None, ())
    assert store.get_consent(odd, "cli") == () and store.get_consent("sub-1", odd) == ()
    assert store.get_grant(odd) is None
    assert store.get_access_token(odd) is None and store.get_refresh_token(odd) is None
    assert store.list_grants(client_id=odd) == [] and store.list_grants(sub=odd) == []
    assert store.revoke_grant(odd, 1.0, "x") is False
    assert store.revoke_access_token(odd, 1.0) is False
    assert store.delete_client(odd) is False and store.delete_user(odd) is False
    store.end_session(odd)
    store.remove_signing_key(odd)
    seen: list[object] = []

    def record(c: AuthorizationCode | None, replayed: bool) -> Issuance:
        seen.append((c, replayed))
        return accept(c, replayed)

    with pytest.raises(Rejected):  # decided like an unknown code: the decision refuses it
        store.redeem_code(odd, 110.0, record)
    with pytest.raises(Rejected):
        store.rotate_refresh(odd, 110.0, rotate_ok("r9"))
    assert seen == [(None, False)]
    assert [c.client_id for c in store.list_clients()] == ["cli"]


@pytest.mark.parametrize("odd", ODD)
def test_a_write_of_odd_text_is_refused_and_writes_nothing(store: SQLStore, odd: str) -> None:
    def refused(call: object) -> None:
        with pytest.raises(ValueError, match="cannot be stored"):
            call()  # type: ignore[operator]

    refused(lambda: store.upsert_client(Client(odd)))
    refused(lambda: store.add_client(Client("ok", client_name=odd)))
    refused(lambda: store.upsert_user(User("s", odd, "h")))
    refused(lambda: store.upsert_resource(Resource(odd)))
    refused(lambda: store.create_session("d", LoginSession("d", odd, 1.0, 2.0)))
    refused(lambda: store.save_consent("sub-1", odd, ("a",), 1.0))
    refused(lambda: store.save_consent("sub-1", "cli", (odd,), 1.0))
    with_odd_nonce = NewCode(AuthorizationCode(**{**code().__dict__, "nonce": odd}), grant())
    # All or nothing: the good rows written before the odd one in the same call are not kept.
    refused(lambda: store.save_all([Issuance(tokens("g9", "j9").access), with_odd_nonce]))
    assert store.get_access_token("j9") is None and store.get_grant("g1") is None
    assert store.list_clients() == [] and store.list_users() == [] and store.list_resources() == []
    assert store.get_session("d") is None and store.get_consent("sub-1", "cli") == ()
    odd_access = AccessTokenRecord("j1", None, "svc", None, (odd,), (), 1.0, 2.0)
    refused(lambda: store.save_all([Issuance(access=odd_access)]))
    assert store.get_access_token("j1") is None


@pytest.mark.parametrize("path", ["/token", "/introspect", "/revoke"])
def test_a_client_id_with_nul_is_an_unknown_client_on_postgresql(pg_url: str, path: str) -> None:
    """Issue 13: ``client_id=%00`` answered 500 on PostgreSQL at these three endpoints."""
    from tests.conftest import make_in_process
    from tests.lifecycle.conftest import FAST_BASE
    from valetkey.store.sql import open_store

    env = make_in_process(FAST_BASE, store=open_store(pg_url))
    try:
        for client_id in ("cli\x00", "\x00"):
            data = {"grant_type": "client_credentials", "token": "x", "client_id": client_id}
            r = env.http.post(path, data=data)
            assert r.status_code == 401 and r.json()["error"] == "invalid_client", r.text
            r = env.http.post(path, data=data, auth=(client_id, "secret"))
            assert r.status_code == 401 and r.json()["error"] == "invalid_client", r.text
    finally:
        env.http.close()
        env.store.close()
