"""A client_secret_jwt secret at rest (core.jose.seal_secret): AES-256-GCM under the server's key,
the client_id as associated data; it opens for that key and client only, and never if changed."""

from __future__ import annotations

import secrets

import pytest

from valetkey.core import jose

KEY = jose.sealing_key(secrets.token_urlsafe(32))
SECRET = "the-secret-" + "s" * 40


def test_a_sealed_secret_opens_for_its_key_and_client_only() -> None:
    sealed = jose.seal_secret(KEY, "svc", SECRET)
    assert sealed.startswith("A256GCM.") and SECRET not in sealed
    assert jose.unseal_secret(KEY, "svc", sealed) == SECRET
    assert jose.seal_secret(KEY, "svc", SECRET) != sealed  # a new nonce every time
    other = jose.sealing_key(secrets.token_urlsafe(32))
    for key, client in ((other, "svc"), (KEY, "svc2"), (KEY, "SVC")):
        with pytest.raises(ValueError, match="does not open"):
            jose.unseal_secret(key, client, sealed)


@pytest.mark.parametrize("position", [8, 20, 60, -2])  # the nonce, the text, the tag
def test_a_changed_sealed_value_does_not_open(position: int) -> None:
    sealed = jose.seal_secret(KEY, "svc", SECRET)
    at = position % len(sealed)
    flipped = "A" if sealed[at] != "A" else "B"  # every bit of these characters is data
    changed = sealed[:at] + flipped + sealed[at + 1 :]
    with pytest.raises(ValueError):
        jose.unseal_secret(KEY, "svc", changed)


@pytest.mark.parametrize(
    ("text", "words"),
    [("shortkey", "32 bytes"), ("A" * 64, "32 bytes"), ("not base64!" * 4, "base64url")],
)
def test_the_sealing_key_is_32_bytes_of_base64url(text: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        jose.sealing_key(text)
