"""HTTP Basic client credentials (RFC 6749 §2.3.1): one encoder for every client of ours, one
decoder at the server, and no byte sequence that makes the decoder fail with anything else than
BasicAuthFailed (issue 13: non-ASCII bytes were a 500)."""

from __future__ import annotations

import base64

import pytest

from valetkey.core.client_auth import BasicAuthFailed, basic_credentials, parse_basic


@pytest.mark.parametrize(
    ("client_id", "secret"),
    [("web", "s3cret"), ("id:1", "a+b c/%&="), ("\u00e9t\u00e9", "p\u00e4ss\u20ac"), ("", "x")],
)
def test_encoding_round_trips(client_id: str, secret: str) -> None:
    assert parse_basic(basic_credentials(client_id, secret)) == (client_id, secret)


def test_both_parts_are_form_urlencoded_before_base64() -> None:
    value = basic_credentials("id:1", "a+b c")
    assert base64.b64decode(value.removeprefix("Basic ")) == b"id%3A1:a%2Bb+c"


@pytest.mark.parametrize(
    "header",
    [
        "Basic \xff\xfe",  # bytes \xff\xfe, read as Latin-1
        "Basic \u00c3\u00a9t\u00c3\u00a9",  # UTF-8 "été", read as Latin-1
        "Basic \u00e9t\u00e9",
        "Basic " + base64.b64encode(b"\xff\xfe:x").decode(),  # base64 of bytes that are not UTF-8
        "Basic YTpi\x00",
        "Basic YTpi YTpi",
        "Basic ====",
    ],
)
def test_any_bytes_are_a_basic_auth_failure(header: str) -> None:
    with pytest.raises(BasicAuthFailed) as caught:
        parse_basic(header)
    assert caught.value.status == 401
