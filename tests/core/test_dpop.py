"""Every rule of RFC 9449 §4.3 with plain values: each refusal (error, rule, spec) and the pass."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.core.dpop_proofs import (
    DROP,
    JKT,
    KEY,
    NOW,
    OTHER,
    PUBLIC,
    URL,
    b64,
    claims,
    forged,
    header,
    proof,
)
from valetkey.core import jose
from valetkey.core.checks import Rejected
from valetkey.core.dpop import (
    PROOF_RULES,
    DPoPNonces,
    DPoPPolicy,
    ProofRequest,
    replay_key,
    verify_proof,
)
from valetkey.core.errors import (
    InvalidDPoPProof,
    InvalidGrant,
    InvalidToken,
    OAuthError,
    UseDPoPNonce,
)

TOKEN = "an-access-token"
ATH = jose.access_token_hash(TOKEN)
NAN_CLAIMS = '{"jti": "j", "htm": "POST", "htu": "https://as.example/token", "iat": NaN}'
RFC6749_DESCRIPTION = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]+")


def request(value: str | None = None, **changes: Any) -> ProofRequest:
    base = ProofRequest(
        headers=[proof() if value is None else value], method="POST", url=URL, now=NOW
    )
    return replace(base, **changes)


def short_rsa_jwk() -> dict[str, Any]:
    numbers = rsa.generate_private_key(65537, 1024).public_key().public_numbers()
    return {"kty": "RSA", "n": b64(numbers.n.to_bytes(128, "big")), "e": "AQAB"}


def rsa_jwk(bits: int, e: int = 65537) -> dict[str, Any]:
    """The members of an RSA public key of ``bits`` bits (not a real key: refused before use)."""
    n = (1 << (bits - 1)) | 1
    return {
        "kty": "RSA",
        "n": b64(n.to_bytes((bits + 7) // 8, "big")),
        "e": b64(e.to_bytes(6, "big")),
    }


def hs256(head: dict[str, Any]) -> str:
    signing_input = f"{b64(head)}.{b64(claims())}"
    mac = hmac.new(b"k" * 32, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


def off_curve() -> dict[str, Any]:
    y = jose.b64url_decode(PUBLIC["y"])
    return PUBLIC | {"y": b64(y[:-1] + bytes([y[-1] ^ 1]))}


def repeated_alg() -> str:
    raw = '{"typ":"dpop+jwt","alg":"ES256","alg":"ES256","jwk":' + jose._COMPACT(PUBLIC) + "}"
    return f"{b64(raw)}.{b64(claims())}.{b64(b'x' * 64)}"


# (case, the request, the error, the rule that refuses it)
Case = tuple[str, Callable[[], ProofRequest], type[OAuthError], str]
REFUSALS: list[Case] = [
    ("no DPoP header", lambda: request(headers=[]), InvalidDPoPProof, "check_one_dpop_header"),
    (
        "two DPoP headers",
        lambda: request(headers=[proof(), proof()]),
        InvalidDPoPProof,
        "check_one_dpop_header",
    ),
    ("not a JWT", lambda: request("not-a-jwt"), InvalidDPoPProof, "check_proof_well_formed"),
    ("four parts", lambda: request(proof() + ".x"), InvalidDPoPProof, "check_proof_well_formed"),
    ("not base64url", lambda: request("a+b.c.d"), InvalidDPoPProof, "check_proof_well_formed"),
    (
        "header not JSON",
        lambda: request(f"{b64('nope')}.{b64(claims())}.AA"),
        InvalidDPoPProof,
        "check_proof_well_formed",
    ),
    (
        "header a JSON array",
        lambda: request(f"{b64('[1]')}.{b64(claims())}.AA"),
        InvalidDPoPProof,
        "check_proof_well_formed",
    ),
    (
        "repeated header member",
        lambda: request(repeated_alg()),
        InvalidDPoPProof,
        "check_proof_well_formed",
    ),
    (
        "NaN in the claims",
        lambda: request(f"{b64(header())}.{b64(NAN_CLAIMS)}.AA"),
        InvalidDPoPProof,
        "check_proof_well_formed",
    ),
    (
        "too long",
        lambda: request(proof(body=claims(pad="x" * 9000))),
        InvalidDPoPProof,
        "check_proof_well_formed",
    ),
    (
        "crit header",
        lambda: request(proof(header(crit=["exp"]))),
        InvalidDPoPProof,
        "check_proof_well_formed",
    ),
    ("typ missing", lambda: request(proof(header(typ=DROP))), InvalidDPoPProof, "check_proof_typ"),
    ("typ JWT", lambda: request(proof(header(typ="JWT"))), InvalidDPoPProof, "check_proof_typ"),
    (
        "typ at+jwt",
        lambda: request(proof(header(typ="at+jwt"))),
        InvalidDPoPProof,
        "check_proof_typ",
    ),
    (
        "alg none",
        lambda: request(forged(header(alg="none"), signature=b"")),
        InvalidDPoPProof,
        "check_proof_alg",
    ),
    ("alg HS256", lambda: request(hs256(header(alg="HS256"))), InvalidDPoPProof, "check_proof_alg"),
    ("alg missing", lambda: request(forged(header(alg=DROP))), InvalidDPoPProof, "check_proof_alg"),
    (
        "alg outside the allow-list",
        lambda: request(forged(header(alg="RS256"))),
        InvalidDPoPProof,
        "check_proof_alg",
    ),
    ("jwk missing", lambda: request(proof(header(jwk=DROP))), InvalidDPoPProof, "check_proof_jwk"),
    (
        "jwk a string",
        lambda: request(proof(header(jwk="key"))),
        InvalidDPoPProof,
        "check_proof_jwk",
    ),
    (
        "jwk with the private key",
        lambda: request(proof(header(jwk=KEY))),
        InvalidDPoPProof,
        "check_proof_jwk",
    ),
    (
        "jwk with only d",
        lambda: request(proof(header(jwk=PUBLIC | {"d": KEY["d"]}))),
        InvalidDPoPProof,
        "check_proof_jwk",
    ),
    (
        "jwk an RSA key for ES256",
        lambda: request(forged(header(jwk=short_rsa_jwk()))),
        InvalidDPoPProof,
        "check_proof_jwk",
    ),
    (
        "jwk on P-384 for ES256",
        lambda: request(proof(header(jwk=PUBLIC | {"crv": "P-384"}))),
        InvalidDPoPProof,
        "check_proof_jwk",
    ),
    (
        "jwk point off the curve",
        lambda: request(proof(header(jwk=off_curve()))),
        InvalidDPoPProof,
        "check_proof_jwk",
    ),
    (
        "jwk x too short",
        lambda: request(proof(header(jwk=PUBLIC | {"x": PUBLIC["x"][:-4]}))),
        InvalidDPoPProof,
        "check_proof_jwk",
    ),
    (
        "jwk for encryption",
        lambda: request(proof(header(jwk=PUBLIC | {"use": "enc"}))),
        InvalidDPoPProof,
        "check_proof_jwk",
    ),
    (
        "jwk for another alg",
        lambda: request(proof(header(jwk=PUBLIC | {"alg": "ES384"}))),
        InvalidDPoPProof,
        "check_proof_jwk",
    ),
    (
        "RSA key under 2048 bits",
        lambda: request(forged(header(alg="PS256", jwk=short_rsa_jwk()))),
        InvalidDPoPProof,
        "check_proof_jwk",
    ),
    (
        "RSA key over 8192 bits",
        lambda: request(forged(header(alg="PS256", jwk=rsa_jwk(8200)))),
        InvalidDPoPProof,
        "check_proof_jwk",
    ),
    (
        "RSA exponent over 32 bits",
        lambda: request(forged(header(alg="PS256", jwk=rsa_jwk(2048, 2**40 + 1)))),
        InvalidDPoPProof,
        "check_proof_jwk",
    ),
    (
        "signed by another key",
        lambda: request(proof(key=OTHER)),
        InvalidDPoPProof,
        "check_proof_signature",
    ),
    (
        "signature zeroed",
        lambda: request(forged(header())),
        InvalidDPoPProof,
        "check_proof_signature",
    ),
    (
        "signature cut short",
        lambda: request(proof()[:-8]),
        InvalidDPoPProof,
        "check_proof_signature",
    ),
    (
        "claims changed after signing",
        lambda: request(
            f"{proof().split('.')[0]}.{b64(claims(htm='GET'))}.{proof().split('.')[2]}"
        ),
        InvalidDPoPProof,
        "check_proof_signature",
    ),
    (
        "jti missing",
        lambda: request(proof(body=claims(jti=DROP))),
        InvalidDPoPProof,
        "check_proof_claims",
    ),
    (
        "jti empty",
        lambda: request(proof(body=claims(jti=""))),
        InvalidDPoPProof,
        "check_proof_claims",
    ),
    (
        "jti a number",
        lambda: request(proof(body=claims(jti=7))),
        InvalidDPoPProof,
        "check_proof_claims",
    ),
    (
        "jti too long",
        lambda: request(proof(body=claims(jti="j" * 129))),
        InvalidDPoPProof,
        "check_proof_claims",
    ),
    (
        "htm missing",
        lambda: request(proof(body=claims(htm=DROP))),
        InvalidDPoPProof,
        "check_proof_claims",
    ),
    (
        "htu missing",
        lambda: request(proof(body=claims(htu=DROP))),
        InvalidDPoPProof,
        "check_proof_claims",
    ),
    (
        "iat missing",
        lambda: request(proof(body=claims(iat=DROP))),
        InvalidDPoPProof,
        "check_proof_claims",
    ),
    (
        "iat a string",
        lambda: request(proof(body=claims(iat=str(NOW)))),
        InvalidDPoPProof,
        "check_proof_claims",
    ),
    (
        "iat a boolean",
        lambda: request(proof(body=claims(iat=True))),
        InvalidDPoPProof,
        "check_proof_claims",
    ),
    (
        "htm another method",
        lambda: request(proof(body=claims(htm="GET"))),
        InvalidDPoPProof,
        "check_proof_htm",
    ),
    (
        "htm in lower case",
        lambda: request(proof(body=claims(htm="post"))),
        InvalidDPoPProof,
        "check_proof_htm",
    ),
    (
        "htu another host",
        lambda: request(proof(body=claims(htu="https://evil.example/token"))),
        InvalidDPoPProof,
        "check_proof_htu",
    ),
    (
        "htu another path",
        lambda: request(proof(body=claims(htu="https://as.example/par"))),
        InvalidDPoPProof,
        "check_proof_htu",
    ),
    (
        "htu plain http",
        lambda: request(proof(body=claims(htu="http://as.example/token"))),
        InvalidDPoPProof,
        "check_proof_htu",
    ),
    (
        "htu another port",
        lambda: request(proof(body=claims(htu="https://as.example:8443/token"))),
        InvalidDPoPProof,
        "check_proof_htu",
    ),
    (
        "htu a relative path",
        lambda: request(proof(body=claims(htu="/token"))),
        InvalidDPoPProof,
        "check_proof_htu",
    ),
    (
        "htu with userinfo",
        lambda: request(proof(body=claims(htu="https://u@as.example/token"))),
        InvalidDPoPProof,
        "check_proof_htu",
    ),
    (
        "htu path case",
        lambda: request(proof(body=claims(htu="https://as.example/Token"))),
        InvalidDPoPProof,
        "check_proof_htu",
    ),
    (
        "iat too old",
        lambda: request(proof(body=claims(iat=NOW - 61))),
        InvalidDPoPProof,
        "check_proof_iat",
    ),
    (
        "iat in the future",
        lambda: request(proof(body=claims(iat=NOW + 11))),
        InvalidDPoPProof,
        "check_proof_iat",
    ),
    ("nonce required, none sent", lambda: request(nonce="n-1"), UseDPoPNonce, "check_proof_nonce"),
    (
        "nonce another one",
        lambda: request(proof(body=claims(nonce="n-0")), nonce="n-1"),
        UseDPoPNonce,
        "check_proof_nonce",
    ),
    (
        "nonce a number",
        lambda: request(proof(body=claims(nonce=1)), nonce="1"),
        UseDPoPNonce,
        "check_proof_nonce",
    ),
    (
        "ath missing at a resource",
        lambda: request(access_token=TOKEN),
        InvalidDPoPProof,
        "check_proof_ath",
    ),
    (
        "ath of another token",
        lambda: request(
            proof(body=claims(ath=jose.access_token_hash("other"))), access_token=TOKEN
        ),
        InvalidDPoPProof,
        "check_proof_ath",
    ),
    (
        "ath of at_hash length",
        lambda: request(proof(body=claims(ath=ATH[:22])), access_token=TOKEN),
        InvalidDPoPProof,
        "check_proof_ath",
    ),
    (
        "token bound to another key",
        lambda: request(bound_jkt=jose.jwk_thumbprint(OTHER), at="resource"),
        InvalidToken,
        "check_proof_key_binding",
    ),
    (
        "grant bound to another key",
        lambda: request(bound_jkt=jose.jwk_thumbprint(OTHER)),
        InvalidGrant,
        "check_proof_key_binding",
    ),
]


# Cases that need a policy other than the default.
RSA_ONLY = DPoPPolicy(algs=("PS256",))
POLICIES = {
    "RSA key under 2048 bits": RSA_ONLY,
    "RSA key over 8192 bits": RSA_ONLY,
    "RSA exponent over 32 bits": RSA_ONLY,
}


def run(req: ProofRequest, policy: DPoPPolicy | None = None) -> Any:
    return verify_proof(req, policy or DPoPPolicy())


@pytest.mark.parametrize(("case", "build", "error", "rule"), REFUSALS, ids=[c[0] for c in REFUSALS])
def test_each_refusal_names_its_rule_and_section(
    case: str, build: Callable[[], ProofRequest], error: type[OAuthError], rule: str
) -> None:
    with pytest.raises(Rejected) as refused:
        run(build(), POLICIES.get(case))
    assert type(refused.value.error) is error, refused.value.error.description
    failed = refused.value.checks[-1]
    assert (failed.rule, failed.outcome) == (rule, "fail")
    assert failed.spec.startswith("RFC 9449 §") and refused.value.error.spec == failed.spec
    assert all(c.outcome == "pass" for c in refused.value.checks[:-1])
    assert RFC6749_DESCRIPTION.fullmatch(refused.value.error.description)
    assert refused.value.error.status in (400, 401)


def test_every_rule_has_a_refusal_case() -> None:
    """So a rule that stopped refusing would fail the table above."""
    assert {r.name for r in PROOF_RULES} == {case[3] for case in REFUSALS}


def test_a_valid_proof_passes_every_rule_in_table_order() -> None:
    verified = run(request())
    assert [c.rule for c in verified.checks] == [r.name for r in PROOF_RULES]
    assert all(c.outcome == "pass" for c in verified.checks)
    assert (verified.jkt, verified.jti, verified.iat, verified.htm) == (
        JKT,
        "jti-0001",
        NOW,
        "POST",
    )
    assert verified.htu == URL and verified.alg == "ES256" and verified.jwk == PUBLIC
    assert verified.expires_at == NOW + 60 and verified.next_nonce is None
    assert len(verified.replay_key) == 64


def test_a_resource_proof_passes_with_ath_binding_and_nonce() -> None:
    req = request(
        proof(body=claims(htm="GET", htu="https://rs.example/api/files", ath=ATH, nonce="n-1")),
        method="GET",
        url="https://rs.example/api/files?limit=5",
        access_token=TOKEN,
        bound_jkt=JKT,
        nonce="n-1",
        at="resource",
    )
    assert run(req).jkt == JKT


@pytest.mark.parametrize(
    "htu",
    [
        "https://AS.Example/token",
        "HTTPS://as.example:443/token",
        "https://as.example/token?client=1",
        "https://as.example/token#frag",
        "https://as.example/./token",
        "https://as.example/%74oken",
    ],
)
def test_htu_is_compared_after_normalization(htu: str) -> None:
    """RFC 9449 §4.3 point 9 and its RFC 3986 §6.2.2-6.2.3 normalization."""
    assert run(request(proof(body=claims(htu=htu)))).htu == URL


@pytest.mark.parametrize("typ", ["application/dpop+jwt", "DPoP+JWT"])
def test_typ_is_a_media_type_compared_without_case(typ: str) -> None:
    """RFC 7515 §4.1.9: the application/ prefix may be left out, and case does not matter."""
    run(request(proof(header(typ=typ))))


@pytest.mark.parametrize("age", [60, -10, 0])
def test_iat_at_the_edges_of_the_window_passes(age: float) -> None:
    run(request(proof(body=claims(iat=NOW - age))))


def test_the_window_is_a_setting() -> None:
    strict = DPoPPolicy(max_age=5, max_future=0)
    with pytest.raises(Rejected):
        run(request(proof(body=claims(iat=NOW - 6))), strict)
    with pytest.raises(Rejected):
        run(request(proof(body=claims(iat=NOW + 1))), strict)
    assert run(request(proof(body=claims(iat=NOW - 5))), strict).expires_at == NOW


@pytest.mark.parametrize("alg", jose.PROOF_ALGS)
def test_every_supported_alg_verifies_when_allowed(alg: str) -> None:
    key = jose.generate_private_jwk(alg)
    signed = proof(header(alg=alg, jwk=jose.public_members(key)), key=key)
    assert run(request(signed), DPoPPolicy(algs=(alg,))).alg == alg
    if alg not in DPoPPolicy().algs:
        with pytest.raises(Rejected) as refused:
            run(request(signed))
        assert refused.value.checks[-1].rule == "check_proof_alg"


@pytest.mark.parametrize("algs", [(), ("none",), ("HS256",), ("ES256", "HS512")])
def test_the_allow_list_never_takes_none_or_a_mac(algs: tuple[str, ...]) -> None:
    with pytest.raises(ValueError):
        DPoPPolicy(algs=algs)


def test_a_nonce_refusal_carries_the_nonce_to_send() -> None:
    with pytest.raises(Rejected) as refused:
        run(request(nonce="n-42"))
    error = refused.value.error
    assert isinstance(error, UseDPoPNonce) and error.nonce == "n-42" and error.status == 400


def test_stateless_nonces_accept_the_previous_window_and_announce_the_next() -> None:
    nonces = DPoPNonces(b"s" * 32, lifetime=300, context="https://as.example")
    old = nonces.current(NOW - 300)
    verified = run(request(proof(body=claims(nonce=old)), nonce=nonces))
    assert verified.next_nonce == nonces.current(NOW) != old  # RFC 9449 §8.2
    fresh = run(request(proof(body=claims(nonce=nonces.current(NOW))), nonce=nonces))
    assert fresh.next_nonce is None
    with pytest.raises(Rejected) as refused:
        run(request(proof(body=claims(nonce=nonces.current(NOW - 600))), nonce=nonces))
    assert isinstance(refused.value.error, UseDPoPNonce)
    assert refused.value.error.nonce == nonces.current(NOW)


def test_the_binding_error_matches_where_the_proof_was_checked() -> None:
    """RFC 9449 §7.1 Figure 16: invalid_token at a resource; a bound grant is invalid_grant."""
    other = jose.jwk_thumbprint(OTHER)
    for at, error, status in (
        ("resource", InvalidToken, 401),
        ("token_endpoint", InvalidGrant, 400),
    ):
        with pytest.raises(Rejected) as refused:
            run(request(bound_jkt=other, at=at))  # type: ignore[arg-type]
        assert type(refused.value.error) is error and error.status == status


def test_a_server_url_that_is_not_absolute_is_a_bug_not_a_refusal() -> None:
    with pytest.raises(ValueError):
        run(request(url="/token"))
    with pytest.raises(TypeError):
        request(headers=proof())


def test_replay_keys_separate_keys_and_target_uris() -> None:
    first = run(request())
    other_key = proof(header(jwk=jose.public_members(OTHER)), key=OTHER)
    assert run(request(other_key)).replay_key != first.replay_key
    elsewhere = proof(body=claims(htu="https://as.example/par"))
    assert run(request(elsewhere, url="https://as.example/par")).replay_key != first.replay_key
    assert run(request(proof(body=claims(iat=NOW - 1)))).replay_key == first.replay_key


@pytest.mark.parametrize(
    "parts",
    [
        (JKT, URL, "jti-0001"),
        (JKT, 'https://a"b.example/\\p', "é\u2028\x00𝄞\n"),
        ("", "", ""),
    ],
)
def test_a_replay_key_is_the_hash_of_the_compact_ascii_json_array(
    parts: tuple[str, str, str],
) -> None:
    """The stored form every instance sharing a registry must agree on (RFC 9449 §11.1)."""
    canonical = json.dumps(list(parts), separators=(",", ":"), ensure_ascii=True)
    expected = hashlib.sha256(canonical.encode("ascii")).hexdigest()
    assert replay_key(*parts) == expected
