"""``jose.read_sent_jws``: the checks every JWT a server is sent gets first (a DPoP proof, a client
assertion), each refusal naming the token it is about."""

from __future__ import annotations

import base64

import pytest

from valetkey.core import jose


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _token(header: str, claims: str = "{}") -> str:
    return f"{_b64(header)}.{_b64(claims)}.c2ln"


def test_a_well_formed_token_is_read() -> None:
    header, claims, signed, signature = jose.read_sent_jws(
        _token('{"alg":"ES256"}', '{"jti":"a"}'), 200, "the proof"
    )
    assert (header, claims, signature) == ({"alg": "ES256"}, {"jti": "a"}, b"sig")
    assert signed.count(b".") == 1


@pytest.mark.parametrize(
    ("token", "says"),
    [
        (_token('{"alg":"ES256"}') + "x" * 200, "the proof is longer than 200 characters"),
        ("a.b", "the proof is not a well-formed signed JWT"),
        (_token('{"alg":"ES256","alg":"none"}'), "the proof is not a well-formed signed JWT"),
        (_token('{"alg":"ES256","crit":["b64"]}'), "the proof's crit header names extensions"),
    ],
)
def test_what_is_refused_names_the_token(token: str, says: str) -> None:
    with pytest.raises(jose.Malformed) as refused:
        jose.read_sent_jws(token, 200, "the proof")
    assert refused.value.description.startswith(says)
