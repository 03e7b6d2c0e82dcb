"""core.token_format: the access-token JWT types (RFC 9068 §4) and the length cap, one home for the
resource server, the token lookups of /introspect, /revoke, /userinfo and the issuer."""

from __future__ import annotations

import pytest

from valetkey.core.token_format import (
    AT_JWT_TYP,
    MAX_TOKEN_LENGTH,
    is_access_token_typ,
    within_length,
)


@pytest.mark.parametrize(
    ("typ", "expected"),
    [
        (AT_JWT_TYP, True),
        ("AT+JWT", True),
        ("application/at+jwt", True),
        ("JWT", False),  # an ID token is never taken for an access token
        (None, False),
        (["at+jwt"], False),
        ("at+jwt ", False),
    ],
)
def test_access_token_types(typ: object, expected: bool) -> None:
    assert is_access_token_typ(typ) is expected


def test_length_cap() -> None:
    assert within_length("a" * MAX_TOKEN_LENGTH)
    assert not within_length("a" * (MAX_TOKEN_LENGTH + 1))
    assert not within_length("")
