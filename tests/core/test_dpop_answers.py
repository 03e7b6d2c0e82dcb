"""The answers to a refused DPoP request (RFC 9449 §5, §7.1, §8, §9), and single use of jti
(§11.1) through the JtiRegistry interface, run against every implementation."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from tests.core.dpop_proofs import NOW, URL, claims, proof
from valetkey.core.checks import Rejected
from valetkey.core.dpop import (
    JtiRegistry,
    MemoryJtiRegistry,
    ProofRequest,
    challenge,
    check_not_replayed,
    refusal,
    verify_proof,
)
from valetkey.core.errors import InvalidDPoPProof, InvalidGrant, InvalidToken, UseDPoPNonce

ALGS = ("ES256", "PS256")
# Every JtiRegistry implementation runs this suite (the store adds its own factory here).
REGISTRIES: list[Callable[[], JtiRegistry]] = [MemoryJtiRegistry]


def test_the_bare_challenge_names_the_algs() -> None:
    """RFC 9449 §7.1 Figure 15: no credentials, no error."""
    assert challenge(ALGS) == 'DPoP algs="ES256 PS256"'


def test_a_challenge_with_an_error_realm_and_scope() -> None:
    error = InvalidToken('bound to "another" key\\ (x)')
    value = challenge(("ES256",), error, realm="api", scope=("read", "write"))
    assert value == (
        'DPoP realm="api", error="invalid_token", error_description="bound to ?another? key? (x)", '
        'scope="read write", algs="ES256"'
    )


def test_the_token_endpoint_answers_400_and_hands_out_the_nonce() -> None:
    assert refusal(InvalidDPoPProof("bad"), at="token_endpoint", algs=ALGS) == (400, {})
    assert refusal(InvalidGrant("bound"), at="token_endpoint", algs=ALGS) == (400, {})
    status, headers = refusal(UseDPoPNonce("need", nonce="n-9"), at="token_endpoint", algs=ALGS)
    assert status == 400
    assert headers == {"DPoP-Nonce": "n-9", "Cache-Control": "no-store"}


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (InvalidDPoPProof("bad proof"), "invalid_dpop_proof"),
        (InvalidToken("bound to another key"), "invalid_token"),
        (UseDPoPNonce("need a nonce", nonce="n-9"), "use_dpop_nonce"),
    ],
)
def test_a_resource_answers_401_with_a_dpop_challenge(error: InvalidToken, code: str) -> None:
    status, headers = refusal(error, at="resource", algs=ALGS, realm="api")
    assert status == 401
    assert headers["WWW-Authenticate"].startswith(f'DPoP realm="api", error="{code}"')
    assert headers["WWW-Authenticate"].endswith('algs="ES256 PS256"')
    assert ("DPoP-Nonce" in headers) is (code == "use_dpop_nonce")


def verified(jti: str = "jti-0001", htu: str = URL, iat: float = NOW):  # type: ignore[no-untyped-def]
    return verify_proof(
        ProofRequest([proof(body=claims(jti=jti, htu=htu, iat=iat))], "POST", htu, NOW)
    )


@pytest.mark.parametrize("make", REGISTRIES)
def test_a_proof_is_used_once(make: Callable[[], JtiRegistry]) -> None:
    registry, first = make(), verified()
    checks = check_not_replayed(first, registry, NOW)
    assert checks[-1].rule == "check_proof_jti_unused" and checks[-1].outcome == "pass"
    assert checks[:-1] == first.checks
    with pytest.raises(Rejected) as refused:
        check_not_replayed(verified(), registry, NOW + 1)
    assert refused.value.error.error == "invalid_dpop_proof"
    assert refused.value.checks[-1].rule == "check_proof_jti_unused"
    assert refused.value.checks[-1].spec == "RFC 9449 §11.1"


@pytest.mark.parametrize("make", REGISTRIES)
def test_a_jti_is_unique_per_target_uri(make: Callable[[], JtiRegistry]) -> None:
    registry = make()
    check_not_replayed(verified(), registry, NOW)
    check_not_replayed(verified(htu="https://as.example/par"), registry, NOW)


@pytest.mark.parametrize("make", REGISTRIES)
def test_a_key_is_forgotten_once_the_proof_has_expired(make: Callable[[], JtiRegistry]) -> None:
    registry, first = make(), verified()
    assert not registry.seen_before(first.replay_key, first.expires_at, NOW)
    assert registry.seen_before(first.replay_key, first.expires_at, first.expires_at - 1)
    assert not registry.seen_before(first.replay_key, first.expires_at + 60, first.expires_at)


@pytest.mark.parametrize("make", REGISTRIES)
def test_of_concurrent_uses_exactly_one_wins(make: Callable[[], JtiRegistry]) -> None:
    registry, results = make(), []
    barrier = threading.Barrier(8)

    def use() -> None:
        barrier.wait()
        results.append(registry.seen_before("k" * 64, NOW + 60, NOW))

    threads = [threading.Thread(target=use) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] + [True] * 7


def test_the_memory_registry_drops_expired_keys() -> None:
    registry = MemoryJtiRegistry()
    for i in range(5000):
        registry.seen_before(f"{i:064d}", NOW + i + 1, NOW + i)
    assert len(registry) < 2100


def test_a_dpop_proof_is_masked_in_events() -> None:
    """RFC 9449 §11.1: a captured proof can be replayed until it expires; events never carry one."""
    from valetkey.core.events import redact

    shown = redact({"DPoP": "eyJ0eXAiOiJkcG9wK2p3dCJ9.payload.signature", "Accept": "x"})
    assert "payload" not in shown["DPoP"] and shown["Accept"] == "x"
