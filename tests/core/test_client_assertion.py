"""Every rule of RFC 7523 §3 / OIDC Core §9 with plain values: each refusal (rule, status) and the
passes, the attacks among them."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from tests.core.assertions import (
    CLIENT,
    DROP,
    EC_KEY,
    ED_KEY,
    ISSUER,
    NOW,
    REVOKE_URL,
    RSA_KEY,
    SECRET,
    STRANGER,
    TOKEN_URL,
    b64,
    claims,
    context,
    maced,
    signed,
    unsigned,
)
from valetkey.core import jose
from valetkey.core.checks import Rejected
from valetkey.core.client_assertion import (
    ASSERTION_RULES,
    CLIENT_SECRET_JWT,
    PRIVATE_KEY_JWT,
    AssertionPolicy,
    UnknownAssertionKey,
    verify_assertion,
)
from valetkey.core.errors import InvalidClient

RFC6749_DESCRIPTION = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]+")
PK, SJ = PRIVATE_KEY_JWT, CLIENT_SECRET_JWT


def public_key_pem(jwk: dict[str, Any]) -> bytes:
    """The client's public key as the PEM bytes an attacker can download: the HMAC key of the
    RS256/HS256 confusion attack."""
    key = jose.proof_public_key(jose.public_members(jwk), jwk["alg"])
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def refused(token: str, method: str = PK, **ctx: Any) -> Rejected:
    with pytest.raises(Rejected) as info:
        verify_assertion(token, CLIENT, method, context(**ctx))
    error = info.value.error
    assert isinstance(error, InvalidClient) and error.status == 401
    assert error.error == "invalid_client"
    assert RFC6749_DESCRIPTION.fullmatch(error.description), error.description
    assert info.value.checks[-1].outcome == "fail"
    return info.value


def rule(token: str, method: str = PK, **ctx: Any) -> str:
    return refused(token, method, **ctx).error.rule


@pytest.mark.parametrize("key", [EC_KEY, RSA_KEY, ED_KEY], ids=lambda k: k["alg"])
def test_private_key_jwt_passes_every_rule(key: dict[str, Any]) -> None:
    verified = verify_assertion(signed(key), CLIENT, PK, context())
    assert (verified.client_id, verified.jti, verified.alg, verified.kid) == (
        CLIENT,
        "jti-0001",
        key["alg"],
        key["kid"],
    )
    assert verified.expires_at == NOW + 60 + AssertionPolicy().leeway
    assert [c.rule for c in verified.checks] == [r.name for r in ASSERTION_RULES]
    assert all(c.outcome == "pass" and c.spec for c in verified.checks)


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
def test_client_secret_jwt_passes_every_rule(alg: str) -> None:
    verified = verify_assertion(maced(alg=alg), CLIENT, SJ, context())
    assert verified.method == SJ and verified.alg == alg and verified.kid is None


# (name, assertion, method, context changes, rule that refuses it)
ATTACKS: list[tuple[str, Callable[[], str], str, dict[str, Any], str]] = [
    ("alg none", lambda: unsigned(), PK, {}, "check_assertion_alg"),
    ("alg none at a secret client", lambda: unsigned(), SJ, {}, "check_assertion_alg"),
    (
        "HS256 keyed with the client's public key (key confusion)",
        lambda: maced(public_key_pem(RSA_KEY), kid="rsa-1"),
        PK,
        {},
        "check_assertion_alg",
    ),
    ("a private_key_jwt client presenting an HMAC", lambda: maced(), PK, {}, "check_assertion_alg"),
    ("a client_secret_jwt client presenting RS256", lambda: signed(RSA_KEY), SJ, {}, "check_assertion_alg"),
    ("another audience", lambda: signed(body=claims(aud="https://other.example")), PK, {}, "check_assertion_aud"),
    ("expired", lambda: signed(body=claims(iat=NOW - 120, exp=NOW - 31)), PK, {}, "check_assertion_exp"),
    ("signed by a stranger under the client's kid", lambda: signed(STRANGER), PK, {}, "check_assertion_signature"),
    ("its own key in a jwk header", lambda: signed(STRANGER, kid=DROP, jwk=jose.public_members(STRANGER)), PK, {"jwks": jose.jwks([EC_KEY])}, "check_assertion_signature"),
    ("a MAC with a wrong secret", lambda: maced("w" * 64), SJ, {}, "check_assertion_signature"),
    ("another client's assertion", lambda: signed(body=claims(iss="other", sub="other")), PK, {}, "check_assertion_iss_sub"),
    ("a DPoP proof", lambda: signed(typ="dpop+jwt"), PK, {}, "check_assertion_typ"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("make", "method", "changes", "expected"),
    [case[1:] for case in ATTACKS],
    ids=[case[0] for case in ATTACKS],
)
def test_attacks_are_refused(
    make: Callable[[], str], method: str, changes: dict[str, Any], expected: str
) -> None:
    assert rule(make(), method, **changes) == expected


def test_the_key_confusion_attack_would_verify_if_the_alg_were_not_checked() -> None:
    """The forged MAC is a valid HS256 over the public PEM: only the alg rule stands between."""
    token = maced(public_key_pem(RSA_KEY), kid="rsa-1")
    _h, _c, signing_input, signature = jose.decode_compact(token)
    assert jose.verify_mac(public_key_pem(RSA_KEY), "HS256", signing_input, signature)
    message = refused(token).error.description
    assert "private_key_jwt" in message and "not a MAC" in message


CASES: list[tuple[str, Callable[[], str], str, dict[str, Any], str]] = [
    ("not a JWT", lambda: "a.b", PK, {}, "check_assertion_well_formed"),
    ("too long", lambda: signed(body=claims(pad="x" * 9000)), PK, {}, "check_assertion_well_formed"),
    ("crit header", lambda: signed(crit=["exp"]), PK, {}, "check_assertion_well_formed"),
    ("alg outside the policy", lambda: signed(RSA_KEY), PK, {"policy": AssertionPolicy(key_algs=("ES256",))}, "check_assertion_alg"),
    ("HS512 outside the policy", lambda: maced(alg="HS512"), SJ, {"policy": AssertionPolicy(secret_algs=("HS256",))}, "check_assertion_alg"),
    ("no alg", lambda: f"{b64({'typ': 'JWT'})}.{b64(claims())}.{b64('sig')}", PK, {}, "check_assertion_alg"),
    ("unknown kid", lambda: signed(kid="nope"), PK, {}, "check_assertion_key"),
    ("no kid, several keys", lambda: signed(kid=DROP), PK, {"jwks": jose.jwks([EC_KEY, STRANGER])}, "check_assertion_key"),
    ("no registered keys", lambda: signed(), PK, {"jwks": None}, "check_assertion_key"),
    ("empty key set", lambda: signed(), PK, {"jwks": {"keys": []}}, "check_assertion_key"),
    ("a registered key with private members", lambda: signed(), PK, {"jwks": {"keys": [EC_KEY]}}, "check_assertion_key"),
    ("a registered key for another alg", lambda: signed(), PK, {"jwks": {"keys": [{**jose.public_jwk(EC_KEY), "alg": "ES384"}]}}, "check_assertion_key"),
    ("no secret on file", lambda: maced(), SJ, {"client_secret": None}, "check_assertion_key"),
    ("a secret too short for HS512", lambda: maced(SECRET[:40], alg="HS512"), SJ, {"client_secret": SECRET[:40]}, "check_assertion_key"),
    ("a secret too short for HS256", lambda: maced("short", alg="HS256"), SJ, {"client_secret": "short"}, "check_assertion_key"),
    ("typ at+jwt", lambda: signed(typ="at+jwt"), PK, {}, "check_assertion_typ"),
    ("no exp", lambda: signed(body=claims(exp=DROP)), PK, {}, "check_assertion_claims"),
    ("exp a string", lambda: signed(body=claims(exp=str(NOW + 60))), PK, {}, "check_assertion_claims"),
    ("exp true", lambda: signed(body=claims(exp=True)), PK, {}, "check_assertion_claims"),
    ("no jti", lambda: signed(body=claims(jti=DROP)), PK, {}, "check_assertion_claims"),
    ("empty jti", lambda: signed(body=claims(jti="")), PK, {}, "check_assertion_claims"),
    ("jti too long", lambda: signed(body=claims(jti="j" * 257)), PK, {}, "check_assertion_claims"),
    ("no aud", lambda: signed(body=claims(aud=DROP)), PK, {}, "check_assertion_claims"),
    ("empty aud list", lambda: signed(body=claims(aud=[])), PK, {}, "check_assertion_claims"),
    ("no iss", lambda: signed(body=claims(iss=DROP)), PK, {}, "check_assertion_claims"),
    ("iat not a number", lambda: signed(body=claims(iat="now")), PK, {}, "check_assertion_claims"),
    ("iss another client", lambda: signed(body=claims(iss="other")), PK, {}, "check_assertion_iss_sub"),
    ("sub another client", lambda: signed(body=claims(sub="other")), PK, {}, "check_assertion_iss_sub"),
    ("issuer with a trailing slash", lambda: signed(body=claims(aud=ISSUER + "/")), PK, {}, "check_assertion_aud"),
    ("audience list with a stranger", lambda: signed(body=claims(aud=[ISSUER, "https://other.example"])), PK, {}, "check_assertion_aud"),
    ("audience list with a number", lambda: signed(body=claims(aud=[ISSUER, 7])), PK, {}, "check_assertion_aud"),
    ("revocation URL at the token endpoint", lambda: signed(body=claims(aud=REVOKE_URL)), PK, {}, "check_assertion_aud"),
    ("issuer_only: the token endpoint", lambda: signed(body=claims(aud=TOKEN_URL)), PK, {"policy": AssertionPolicy(issuer_only=True)}, "check_assertion_aud"),
    ("issuer_only: the issuer in a list", lambda: signed(body=claims(aud=[ISSUER])), PK, {"policy": AssertionPolicy(issuer_only=True)}, "check_assertion_aud"),
    ("exp beyond the leeway", lambda: signed(body=claims(exp=NOW - 31)), PK, {}, "check_assertion_exp"),
    ("nbf in the future", lambda: signed(body=claims(nbf=NOW + 31)), PK, {}, "check_assertion_nbf_iat"),
    ("iat in the future", lambda: signed(body=claims(iat=NOW + 31, exp=NOW + 90)), PK, {}, "check_assertion_nbf_iat"),
    ("exp - iat over 5 minutes", lambda: signed(body=claims(iat=NOW - 100, exp=NOW + 201)), PK, {}, "check_assertion_lifetime"),
    ("no iat, exp too far", lambda: signed(body=claims(iat=DROP, exp=NOW + 331)), PK, {}, "check_assertion_lifetime"),
    ("a one-hour assertion (Authlib's default)", lambda: signed(body=claims(exp=NOW + 3600)), PK, {}, "check_assertion_lifetime"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("make", "method", "changes", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_each_rule_refuses(
    make: Callable[[], str], method: str, changes: dict[str, Any], expected: str
) -> None:
    failed = refused(make(), method, **changes)
    assert failed.error.rule == expected
    ran = [c.rule for c in failed.checks]
    assert ran == [r.name for r in ASSERTION_RULES][: len(ran)] and ran[-1] == expected
    assert failed.error.spec == next(r.spec for r in ASSERTION_RULES if r.name == expected)


PASSES: list[tuple[str, Callable[[], str], str, dict[str, Any]]] = [
    ("aud the issuer", lambda: signed(body=claims(aud=ISSUER)), PK, {}),
    ("aud the token endpoint", lambda: signed(body=claims(aud=TOKEN_URL)), PK, {}),
    ("aud the endpoint called", lambda: signed(body=claims(aud=REVOKE_URL)), PK, {"endpoint_url": REVOKE_URL}),
    ("aud the token endpoint at /revoke (OIDC Core §9)", lambda: signed(body=claims(aud=TOKEN_URL)), PK, {"endpoint_url": REVOKE_URL}),
    ("aud [issuer, token endpoint] (openid-client 5)", lambda: signed(body=claims(aud=[ISSUER, TOKEN_URL])), PK, {}),
    ("issuer_only: the issuer", lambda: signed(body=claims(aud=ISSUER)), PK, {"policy": AssertionPolicy(issuer_only=True)}),
    ("no typ", lambda: signed(typ=DROP), PK, {}),
    ("typ client-authentication+jwt", lambda: signed(typ="client-authentication+jwt"), PK, {}),
    ("typ application/JWT", lambda: signed(typ="application/JWT"), PK, {}),
    ("no kid, one key of the alg", lambda: signed(kid=DROP), PK, {"jwks": jose.jwks([EC_KEY, RSA_KEY])}),
    ("exp within the leeway", lambda: signed(body=claims(exp=NOW - 29, iat=NOW - 60)), PK, {}),
    ("exp - iat exactly 5 minutes", lambda: signed(body=claims(iat=NOW - 10, exp=NOW + 290)), PK, {}),
    ("no iat", lambda: signed(body=claims(iat=DROP)), PK, {}),
    ("nbf now", lambda: signed(body=claims(nbf=NOW)), PK, {}),
    ("iat a little ahead (clock skew)", lambda: signed(body=claims(iat=NOW + 20, exp=NOW + 80)), PK, {}),
    ("an unknown header member", lambda: signed(x5t="ignored"), PK, {}),
    ("Ed25519 with a key registered as EdDSA (RFC 9864)", lambda: signed(ED_KEY), PK, {"jwks": {"keys": [{**jose.public_jwk(ED_KEY), "alg": "EdDSA"}]}}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("make", "method", "changes"), [c[1:] for c in PASSES], ids=[c[0] for c in PASSES]
)
def test_accepted(make: Callable[[], str], method: str, changes: dict[str, Any]) -> None:
    verify_assertion(make(), CLIENT, method, context(**changes))


def test_an_unknown_kid_is_its_own_error_so_the_server_can_refetch_jwks_uri() -> None:
    error = refused(signed(kid="rotated")).error
    assert isinstance(error, UnknownAssertionKey)
    fresh = jose.generate_private_jwk("ES256", kid="rotated")
    token = signed(fresh)
    assert isinstance(refused(token).error, UnknownAssertionKey)
    verify_assertion(token, CLIENT, PK, context(jwks=jose.jwks([EC_KEY, fresh])))


def test_values_the_client_chose_stay_out_of_the_description() -> None:
    token = signed(body=claims(aud="https://evil.example/<script>"))
    error = refused(token).error
    assert "evil" not in error.description and "evil" in error.detail
    assert ISSUER in error.description and TOKEN_URL in error.description


def test_the_policy_refuses_none_macs_for_keys_and_unknown_algs() -> None:
    for bad in (
        {"key_algs": ("none",)},
        {"key_algs": ("HS256",)},
        {"key_algs": ()},
        {"secret_algs": ("RS256",)},
        {"max_lifetime": 0},
    ):
        with pytest.raises(ValueError):
            AssertionPolicy(**bad)


def test_a_method_that_is_not_a_jwt_method_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        verify_assertion(signed(), CLIENT, "client_secret_basic", context())


def test_secret_mac_uses_the_utf8_octets_of_the_secret() -> None:
    """OIDC Core §16.19: the key is the UTF-8 representation of the client_secret."""
    secret = "clé-secrète-" + "ü" * 20  # non-ASCII: 52 bytes in UTF-8
    token = maced(secret.encode("utf-8"))
    verify_assertion(token, CLIENT, SJ, context(client_secret=secret))
