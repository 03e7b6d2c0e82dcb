"""core.challenge: the Bearer challenge written by the resource server and /userinfo, and read by
the client (RFC 6750 §3, RFC 9110 §11.6.1)."""

from __future__ import annotations

import pytest

from valetkey.core.challenge import bearer_challenge, bearer_error, parse_challenges
from valetkey.core.errors import InsufficientScope, InvalidToken


def test_writing() -> None:
    assert bearer_challenge(None) == "Bearer"
    assert bearer_challenge(None, realm="api") == 'Bearer realm="api"'
    # RFC 6750 §3.1: scope is named only with an error; resource_metadata always (RFC 9728 §5.1)
    assert bearer_challenge(None, scope=("a",), resource_metadata="https://rs/m") == (
        'Bearer resource_metadata="https://rs/m"'
    )
    assert bearer_challenge(InsufficientScope("more"), scope=("a", "b")) == (
        'Bearer error="insufficient_scope", error_description="more", scope="a b"'
    )


def test_written_values_never_break_the_quoting() -> None:
    value = bearer_challenge(InvalidToken('x", error="none'), realm='\u00e9"\\')
    assert value == (
        'Bearer realm="???", error="invalid_token", error_description="x?, error=?none"'
    )
    assert parse_challenges([value]) == [
        (
            "bearer",
            {"realm": "???", "error": "invalid_token", "error_description": "x?, error=?none"},
        )
    ]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["Bearer"], [("bearer", {})]),
        (
            ['Bearer realm="api", error="invalid_token"'],
            [("bearer", {"realm": "api", "error": "invalid_token"})],
        ),
        (["Bearer error=invalid_token"], [("bearer", {"error": "invalid_token"})]),
        (['BEARER Error = "a\\"b"'], [("bearer", {"error": 'a"b'})]),
        (
            ['Basic realm="x", Bearer error="invalid_token"'],
            [("basic", {"realm": "x"}), ("bearer", {"error": "invalid_token"})],
        ),
        (
            ["Basic realm=x", 'Bearer scope="a b"'],
            [("basic", {"realm": "x"}), ("bearer", {"scope": "a b"})],
        ),
        (["Negotiate abc==, Bearer error=x"], [("negotiate", {})]),
        (["", " , "], []),
    ],
)
def test_reading(values: list[str], expected: list[tuple[str, dict[str, str]]]) -> None:
    assert parse_challenges(values) == expected


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (['Bearer realm="api", error="invalid_token"'], "invalid_token"),
        (['Basic error="invalid_token"'], None),
        (['Bearer realm="api"', 'Bearer error="insufficient_scope"'], "insufficient_scope"),
        (['Bearer realm="error=invalid_token"'], None),
        ([], None),
    ],
)
def test_bearer_error(values: list[str], expected: str | None) -> None:
    assert bearer_error(values) == expected
