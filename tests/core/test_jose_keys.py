"""Verifying with a JWK Set imported once (VerifyKeys) decides exactly as with the raw set."""

from __future__ import annotations

import pytest

from valetkey.core import jose


def test_prepared_keys_accept_what_the_raw_set_accepts_and_refuse_a_foreign_signature() -> None:
    ours, theirs = jose.generate_private_jwk("ES256"), jose.generate_private_jwk("ES256")
    published = jose.jwks([ours])
    prepared = jose.VerifyKeys(published)
    token = jose.sign({"sub": "alice"}, ours, typ="at+jwt")
    assert jose.verify(token, prepared) == jose.verify(token, published)
    assert jose.verify(token, prepared)[1]["sub"] == "alice"
    forged = jose.sign({"sub": "alice"}, theirs | {"kid": ours["kid"]}, typ="at+jwt")
    with pytest.raises(jose.TokenInvalid):
        jose.verify(forged, prepared)


def test_an_empty_prepared_set_refuses_every_token() -> None:
    key = jose.generate_private_jwk("ES256")
    token = jose.sign({"sub": "alice"}, key)
    with pytest.raises(jose.TokenInvalid):
        jose.verify(token, jose.VerifyKeys({"keys": []}))


def test_a_remembered_token_still_answers_the_same_and_a_changed_one_is_still_checked() -> None:
    key = jose.generate_private_jwk("ES256")
    prepared = jose.VerifyKeys(jose.jwks([key]))
    token = jose.sign({"sub": "alice", "scope": "read"}, key, typ="at+jwt")
    first = jose.verify(token, prepared)
    first[1]["sub"] = "mallory"  # a caller's change never leaks into the remembered copy
    assert jose.verify(token, prepared)[1]["sub"] == "alice"
    head, body, sig = token.split(".")
    tampered = f"{head}.{body}.{sig[:-4]}AAAA"
    with pytest.raises(jose.TokenInvalid):
        jose.verify(tampered, prepared)


def test_keys_taken_out_of_the_set_no_longer_verify_what_was_remembered() -> None:
    old, new = jose.generate_private_jwk("ES256"), jose.generate_private_jwk("ES256")
    token = jose.sign({"sub": "alice"}, old, typ="at+jwt")
    jose.verify(token, jose.VerifyKeys(jose.jwks([old, new])))
    with pytest.raises(jose.TokenInvalid):
        jose.verify(token, jose.VerifyKeys(jose.jwks([new])))


@pytest.mark.parametrize("alg", ["ES256", "RS256"])
def test_signatures_verify_with_an_independent_implementation(alg: str) -> None:
    """Our ES256 signer (cryptography called directly) emits RFC 7518 §3.4 R || S; checked here
    with cryptography's own verifier on the DER form, and RS256 with PKCS#1 v1.5."""
    import base64

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
    from joserfc.jwk import import_key

    private = jose.generate_private_jwk(alg)
    public = import_key(jose.public_jwk(private)).get_op_key("verify")
    for n in range(20):  # R or S with leading zero bytes must still be 32 bytes each
        token = jose.sign({"n": n}, private, typ="at+jwt")
        head, body, sig_b64 = token.split(".")
        sig = base64.urlsafe_b64decode(sig_b64 + "=" * (-len(sig_b64) % 4))
        data = f"{head}.{body}".encode()
        if alg == "ES256":
            assert len(sig) == 64
            der = encode_dss_signature(
                int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
            )
            public.verify(der, data, ec.ECDSA(hashes.SHA256()))
        else:
            public.verify(sig, data, padding.PKCS1v15(), hashes.SHA256())
        assert jose.unverified_parts(token)[0] == {
            "alg": alg,
            "kid": private["kid"],
            "typ": "at+jwt",
        }


def test_a_new_key_under_a_reused_kid_is_what_signs() -> None:
    first = jose.generate_private_jwk("ES256", kid="same")
    second = jose.generate_private_jwk("ES256", kid="same")
    token = jose.sign({"a": 1}, first)
    token2 = jose.sign({"a": 1}, second)
    assert jose.verify(token, jose.jwks([first]))[1] == {"a": 1}
    with pytest.raises(jose.TokenInvalid):
        jose.verify(token2, jose.jwks([first]))
    assert jose.verify(token2, jose.jwks([second]))[1] == {"a": 1}
