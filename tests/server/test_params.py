"""Form and query parsing: the same answer as the standard library's parse_qs, on any input."""

from __future__ import annotations

import random
from urllib.parse import parse_qs

import pytest

from valetkey.server.http import parse_params

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


def test_bytes_are_decoded_strictly() -> None:
    assert parse_params(b"a=%C3%A9") == {"a": ["é"]}
    with pytest.raises(UnicodeDecodeError):
        parse_params(
            b"a=\xff"
        )  # raw bytes that are not UTF-8: the endpoints answer invalid_request
