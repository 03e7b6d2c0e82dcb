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
