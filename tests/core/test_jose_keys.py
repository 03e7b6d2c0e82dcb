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
