"""Proof keys kept by header (``core.dpop.proof``): a client's key is imported and hashed once, its
signature still verified on every proof, and nothing kept ever stands in for another key."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.core.dpop_proofs import JKT, KEY, NOW, OTHER, PUBLIC, URL, b64, claims, header, proof
from valetkey.core import jose
from valetkey.core.checks import Rejected
from valetkey.core.dpop import DPoPPolicy, ProofRequest, verify_proof
from valetkey.core.dpop import proof as proof_module
from valetkey.core.errors import InvalidDPoPProof, InvalidToken


@pytest.fixture(autouse=True)
def no_known_keys() -> Iterator[None]:
    proof_module._known_keys.clear()
    yield
    proof_module._known_keys.clear()


def check(value: str, **changes: Any) -> Any:
    request = ProofRequest(headers=[value], method="POST", url=URL, now=NOW, **changes)
    return verify_proof(request, DPoPPolicy())


def refused_by(value: str, **changes: Any) -> str:
    with pytest.raises(Rejected) as refused:
        check(value, **changes)
    return refused.value.checks[-1].rule


def head_of(value: str) -> str:
    return value.partition(".")[0]


def test_a_known_header_still_has_every_signature_verified() -> None:
    assert check(proof()).jkt == JKT
    assert head_of(proof()) in proof_module._known_keys
    forged = proof(header(), claims(jti="jti-0002"), key=OTHER)  # KEY's header, OTHER's signature
    assert head_of(forged) == head_of(proof())
    assert refused_by(forged) == "check_proof_signature"
    assert check(proof(body=claims(jti="jti-0003"))).jkt == JKT


def test_another_key_under_the_same_kid_is_not_taken_for_the_known_one() -> None:
    first = jose.generate_private_jwk("ES256", kid="one-kid")
    second = jose.generate_private_jwk("ES256", kid="one-kid")
    first_jkt, second_jkt = (jose.jwk_thumbprint(jose.public_members(k)) for k in (first, second))

    def signed_by(key: dict[str, Any]) -> str:
        return proof(header(jwk=jose.public_jwk(key)), key=key)

    assert check(signed_by(first)).jkt == first_jkt
    assert check(signed_by(second)).jkt == second_jkt != first_jkt
    # A token bound to the first key is not usable with the second key's proof.
    with pytest.raises(Rejected) as refused:
        check(signed_by(second), bound_jkt=first_jkt, at="resource")
    assert isinstance(refused.value.error, InvalidToken)
    # The first key's header with the second key's signature: refused.
    mixed = proof(header(jwk=jose.public_jwk(first)), key=second)
    assert refused_by(mixed) == "check_proof_signature"


def test_the_same_key_under_another_alg_is_checked_for_that_alg() -> None:
    """The alg is part of the header: KEY known for ES256 is checked afresh for ES384."""
    assert check(proof()).jkt == JKT
    policy = DPoPPolicy(algs=("ES256", "ES384"))
    p384 = jose.generate_private_jwk("ES384")
    wrong_curve = proof(header(alg="ES384", jwk=jose.public_members(KEY)), key=p384)
    with pytest.raises(Rejected) as refused:
        verify_proof(ProofRequest([wrong_curve], "POST", URL, NOW), policy)
    assert refused.value.checks[-1].rule == "check_proof_jwk"


def test_an_unusable_jwk_is_refused_every_time_and_never_kept() -> None:
    y = jose.b64url_decode(PUBLIC["y"])
    off_curve = PUBLIC | {"y": b64(y[:-1] + bytes([y[-1] ^ 1]))}
    bad = proof(header(jwk=off_curve))
    for _ in range(2):
        assert refused_by(bad) == "check_proof_jwk"
    assert proof_module._known_keys == {}


def test_the_known_keys_are_bounded_oldest_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(proof_module, "MAX_KNOWN_KEYS", 3)
    keys = [jose.generate_private_jwk("ES256") for _ in range(5)]
    proofs = [proof(header(jwk=jose.public_members(k)), key=k) for k in keys]
    for value, key in zip(proofs, keys, strict=True):
        assert check(value).jkt == jose.jwk_thumbprint(jose.public_members(key))
        assert len(proof_module._known_keys) <= 3
    assert list(proof_module._known_keys) == [head_of(p) for p in proofs[2:]]
    # A key dropped from the cache is checked again from its header, with the same answer.
    again = proof(header(jwk=jose.public_members(keys[0])), claims(jti="again"), key=keys[0])
    assert check(again).jkt == jose.jwk_thumbprint(jose.public_members(keys[0]))
    assert refused_by(proof(header(jwk=jose.public_members(keys[0])), key=OTHER)) == (
        "check_proof_signature"
    )


def test_a_refusal_for_a_known_header_still_says_why() -> None:
    check(proof())
    with pytest.raises(Rejected) as refused:
        check(proof(body=claims(htm="GET")))
    assert isinstance(refused.value.error, InvalidDPoPProof)
    assert refused.value.checks[-1].rule == "check_proof_htm"


def test_a_long_header_is_checked_but_not_kept() -> None:
    long_header = header(pad="p" * (proof_module.MAX_KNOWN_HEADER * 3 // 4))
    value = proof(long_header)
    assert len(head_of(value)) > proof_module.MAX_KNOWN_HEADER
    assert check(value).jkt == JKT
    assert proof_module._known_keys == {}
    assert refused_by(proof(long_header, claims(jti="jti-0002"), key=OTHER)) == (
        "check_proof_signature"
    )
