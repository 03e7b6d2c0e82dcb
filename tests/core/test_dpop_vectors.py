"""The RFC's own examples: RFC 9449's signed proofs, jkt and ath, and RFC 7638's thumbprint; and
thumbprints agreeing with joserfc's for every key type."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from joserfc.jwk import import_key

from valetkey.core import jose
from valetkey.core.checks import Rejected
from valetkey.core.dpop import ProofRequest, verify_proof

FIXTURES = Path(__file__).parents[1] / "fixtures"
RFC9449 = json.loads((FIXTURES / "rfc9449_dpop_examples.json").read_text())
RFC7638 = json.loads((FIXTURES / "rfc7638_thumbprint.json").read_text())


def example_request(example: dict[str, Any], **kw: Any) -> ProofRequest:
    return ProofRequest(
        **{
            "headers": [example["proof"]],
            "method": example["method"],
            "url": example["url"],
            "now": example["iat"],
            "access_token": example.get("access_token"),
            **kw,
        }
    )


@pytest.mark.parametrize("example", RFC9449["proofs"], ids=[p["figure"] for p in RFC9449["proofs"]])
def test_the_rfc9449_example_proofs_verify_and_bind_to_the_figure_9_jkt(
    example: dict[str, Any],
) -> None:
    verified = verify_proof(example_request(example, bound_jkt=RFC9449["jkt"]))
    assert verified.jkt == RFC9449["jkt"]
    assert (verified.jti, verified.iat, verified.jwk) == (
        example["jti"],
        example["iat"],
        RFC9449["jwk"],
    )


def test_the_figure_13_proof_carries_the_figure_14_ath() -> None:
    example = RFC9449["proofs"][2]
    assert jose.access_token_hash(example["access_token"]) == example["ath"]
    with pytest.raises(Rejected) as refused:  # the same proof with another token
        verify_proof(example_request(example | {"access_token": "another-token"}))
    assert refused.value.checks[-1].rule == "check_proof_ath"


def test_the_rfc9449_examples_are_long_expired_today() -> None:
    example = RFC9449["proofs"][0]
    with pytest.raises(Rejected) as refused:
        verify_proof(example_request(example, now=example["iat"] + 3600))
    assert refused.value.checks[-1].rule == "check_proof_iat"


def test_rfc7638_section_3_1_thumbprint() -> None:
    """Optional members (alg, kid) take no part in the thumbprint."""
    assert jose.jwk_thumbprint(RFC7638["jwk"]) == RFC7638["thumbprint"]
    bare = {k: RFC7638["jwk"][k] for k in ("kty", "n", "e")}
    assert jose.jwk_thumbprint(bare) == RFC7638["thumbprint"]


@pytest.mark.parametrize("alg", jose.PROOF_ALGS)
def test_thumbprints_agree_with_joserfc(alg: str) -> None:
    private = jose.generate_private_jwk(alg)
    public = jose.public_members(private)
    assert jose.jwk_thumbprint(public) == import_key(public).thumbprint()
    assert jose.jwk_thumbprint(private) == jose.jwk_thumbprint(public)


@pytest.mark.parametrize(
    "jwk", [{"kty": "oct", "k": "c2VjcmV0"}, {"kty": "EC", "crv": "P-256"}, {}]
)
def test_no_thumbprint_for_a_secret_or_an_incomplete_key(jwk: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        jose.jwk_thumbprint(jwk)
