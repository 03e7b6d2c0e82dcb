"""Form and query parsing: the same answer as the standard library's parse_qs, on any input; and the
other request and response helpers the hot endpoints use instead of Starlette's, held to Starlette's."""

from __future__ import annotations

import random
from urllib.parse import parse_qs, urlencode

import pytest
from starlette.requests import Request
from starlette.responses import RedirectResponse

from valetkey.server.http import Redirect, encode_params, header, parse_params

ALPHABET = ["a", "b", "=", "&", "+", "%", "2", "0", "F", "f", "G", "é", " ", ";", "%C3%A9", "%FF"]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "&",
        "&&a=1&&",
        "a",
        "a=",
        "=b",
        "=",
        "a=1&a=2&b=3",
        "scope=openid+profile&redirect_uri=https%3A%2F%2Fc.example%2Fcb%3Fx%3D1",
        "a=%",
        "a=%2",
        "a=%zz",
        "a=%FF",  # not UTF-8 once unquoted: replaced, as parse_qs does
        "a%3Db=c%26d",
        "a=b=c",
        "a;b=c",
        "é=ü",
    ],
)
def test_known_shapes(text: str) -> None:
    assert parse_params(text) == parse_qs(text, keep_blank_values=True)


def test_random_inputs_agree_with_parse_qs() -> None:
    rng = random.Random(7)
    for _ in range(5000):
        text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 24)))
        assert parse_params(text) == parse_qs(text, keep_blank_values=True), text


def test_encode_params_agrees_with_urlencode() -> None:
    """What the sign-in and consent forms carry is the request as ``urlencode`` writes it."""
    rng = random.Random(11)
    chars = [*ALPHABET, "~", ".", "_", "-", "/", ":", "?", "#", "\x00", "\U0001f600", "\ud800"]
    for _ in range(3000):
        params: dict[str, list[str]] = {}
        for _ in range(rng.randint(0, 5)):
            name = "".join(rng.choice(chars) for _ in range(rng.randint(0, 6)))
            value = "".join(rng.choice(chars) for _ in range(rng.randint(0, 12)))
            params.setdefault(name, []).append(value)
        flat = [(k, v) for k, vs in params.items() for v in vs]
        try:
            expected = urlencode(flat)
        except UnicodeEncodeError:  # a lone surrogate: neither can encode it
            with pytest.raises(UnicodeEncodeError):
                encode_params(params)
            continue
        assert encode_params(params) == expected, params


def test_bytes_are_decoded_strictly() -> None:
    assert parse_params(b"a=%C3%A9") == {"a": ["é"]}
    with pytest.raises(UnicodeDecodeError):
        parse_params(
            b"a=\xff"
        )  # raw bytes that are not UTF-8: the endpoints answer invalid_request


@pytest.mark.parametrize(
    "url",
    [
        "https://client.example/cb?code=abc_-.~&state=xyz&iss=http%3A%2F%2F127.0.0.1%3A8000",
        "com.example.app:/oauth2redirect?code=a",
        "https://client.example/a path/?q=<script>\"'",
        "https://client.example/é?x=ü#frag",
        "https://client.example/cb?x={a}|b^c\\d`e",
        "http://[::1]:8080/cb?error=access_denied&error_description=the+user+said+no",
        "",
    ],
)
def test_redirects_carry_what_starlettes_would(url: str) -> None:
    ours, theirs = Redirect(url), RedirectResponse(url, status_code=303)
    assert ours.status_code == theirs.status_code == 303
    assert ours.raw_headers == theirs.raw_headers
    assert ours.body == theirs.body == b""


def test_a_header_read_is_the_first_of_its_name() -> None:
    scope = {
        "type": "http",
        "headers": [
            (b"authorization", b"Basic first"),
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"authorization", b"Basic second"),
        ],
    }
    request = Request(scope)
    assert header(request, b"authorization") == "Basic first" == request.headers["authorization"]
    assert header(request, b"content-type") == "application/x-www-form-urlencoded"
    assert header(request, b"x-valetkey-flow") is None
