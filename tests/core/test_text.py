"""core.text: whatever a client sent, a protocol string keeps to RFC 6749 §5.2's characters."""

from __future__ import annotations

import pytest

from valetkey.core.text import is_safe, safe, shown

ALLOWED = {chr(c) for c in range(0x20, 0x7F)} - {'"', "\\"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain text, with 'quotes' and ~!#$%", "plain text, with 'quotes' and ~!#$%"),
        ('a "b" \\c', "a ?b? ?c"),
        ("\u00e9t\u00e9", "?t?"),
        ("\x00\t\r\n\x7f", "?????"),
        ("\U0001f600", "?"),
        ("", ""),
    ],
)
def test_safe(value: str, expected: str) -> None:
    assert safe(value) == expected
    assert is_safe(safe(value))


def test_every_code_point_maps_into_the_allowed_set() -> None:
    every = "".join(chr(c) for c in range(0x0, 0x3000))
    assert set(safe(every)) <= ALLOWED
    assert len(safe(every)) == len(every)
    assert not is_safe('"') and not is_safe("\\") and not is_safe("\u00e9") and is_safe("a b")


@pytest.mark.parametrize(
    ("value", "limit", "expected"),
    [
        ("password", 40, "'password'"),
        ("x" * 50, 40, "'" + "x" * 40 + "...'"),
        ('gr"\u00e9\\t', 40, "'gr???t'"),
        (None, 40, "'None'"),
        ("abcdef", 3, "'abc...'"),
    ],
)
def test_shown(value: object, limit: int, expected: str) -> None:
    assert shown(value, limit) == expected
    assert is_safe(shown(value, limit))


def test_every_oauth_error_description_is_sendable() -> None:
    """RFC 6749 §5.2: the server's own citations are spelled out, and nothing else slips through."""
    from valetkey.core.errors import InvalidRequest

    exc = InvalidRequest('see RFC 9700 §2.4 for "why" \\ é')
    assert exc.description == "see RFC 9700 section 2.4 for ?why? ? ?"
    assert is_safe(exc.body()["error_description"])
