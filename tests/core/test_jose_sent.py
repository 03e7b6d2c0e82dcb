"""``jose.read_sent_jws``: the checks every JWT a server is sent gets first (a DPoP proof, a client
assertion), each refusal naming the token it is about."""

from __future__ import annotations

import base64
import json

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


def test_json_nested_past_the_parser_is_malformed_not_a_crash() -> None:
    deep = "[" * 5000 + "]" * 5000
    for token in (_token(deep), _token('{"alg":"ES256"}', '{"a":' + deep + "}")):
        with pytest.raises(jose.Malformed) as refused:
            jose.read_sent_jws(token, 100_000, "the proof")
        assert refused.value.description == "the proof is not a well-formed signed JWT"


def test_a_header_seen_before_is_a_fresh_copy_each_time() -> None:
    """Headers are decoded once per segment: what one caller changes, the next does not see."""
    token = _token('{"alg":"ES256","typ":"dpop+jwt","jwk":{"kty":"EC","x":"a"}}', '{"n":1}')
    first = jose.read_sent_jws(token, 500, "the proof")[0]
    first["alg"], first["jwk"]["x"] = "none", "changed"
    second = jose.read_sent_jws(token, 500, "the proof")[0]
    assert second == {"alg": "ES256", "typ": "dpop+jwt", "jwk": {"kty": "EC", "x": "a"}}


@pytest.mark.parametrize(
    "header",
    [
        '{"alg":"ES256","x5c":["a","b"]}',
        '{"alg":"ES256","jwk":{"kty":"EC","oth":[{"r":"a"}]}}',
        '{"alg":"ES256","a":{"b":{"c":1}}}',
    ],
)
def test_headers_with_deeper_values_are_read_whole(header: str) -> None:
    token = _token(header)
    for _ in range(2):
        read = jose.read_sent_jws(token, 500, "the proof")[0]
        assert read == json.loads(header)
        read.clear()


def test_a_repeated_member_is_refused_every_time() -> None:
    token = _token('{"alg":"ES256","jwk":{"kty":"EC","kty":"RSA"}}')
    for _ in range(2):
        with pytest.raises(jose.Malformed):
            jose.read_sent_jws(token, 500, "the proof")


@pytest.mark.parametrize(
    "text", ["a+b", "ab/c", "YQ==", "YQ=", "a", "abcde", "ab c", "ab\ncd", "é", "ab.c", "YQ\x00"]
)
def test_base64url_takes_its_own_alphabet_only_without_padding(text: str) -> None:
    with pytest.raises(ValueError):
        jose.b64url_decode(text)


@pytest.mark.parametrize(
    ("text", "raw"),
    [("", b""), ("YQ", b"a"), ("YWI", b"ab"), ("YWJj", b"abc"), ("-_8", b"\xfb\xff")],
)
def test_base64url_decodes(text: str, raw: bytes) -> None:
    assert jose.b64url_decode(text) == raw
