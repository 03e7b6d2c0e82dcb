"""Finding the token and writing the challenge (pure functions)."""

from __future__ import annotations

import pytest

from valetkey.core.errors import InsufficientScope, InvalidRequest, InvalidToken
from valetkey.resource.bearer import NoCredentials, bearer_token, challenge


def headers(*values: str) -> list[tuple[bytes, bytes]]:
    return [(b"host", b"x")] + [(b"authorization", v.encode()) for v in values]


def test_token_is_taken_from_the_header_with_any_scheme_case() -> None:
    assert bearer_token(headers("bEARER abc.DEF-_~+/=="), b"") == "abc.DEF-_~+/=="


def test_a_parameter_merely_containing_access_token_is_not_a_token() -> None:
    assert bearer_token(headers("Bearer t"), b"not_access_token=1&x=access_token") == "t"


@pytest.mark.parametrize("query", [b"access_token=t", b"a=1&access_token="])
def test_query_tokens_are_refused(query: bytes) -> None:
    with pytest.raises(InvalidRequest):
        bearer_token(headers(), query)


def test_missing_and_foreign_schemes_are_no_credentials() -> None:
    for hs in (headers(), headers("Basic YTpi"), headers("Bearerabc")):
        with pytest.raises(NoCredentials):
            bearer_token(hs, b"")


def test_challenges() -> None:
    assert challenge(None, None) == "Bearer"
    assert challenge("api", None) == 'Bearer realm="api"'
    value = challenge("api", InvalidToken('bad "quoted" \\ text'))
    assert (
        value
        == 'Bearer realm="api", error="invalid_token", error_description="bad ?quoted? ? text"'
    )
    scoped = challenge(None, InsufficientScope("more"), ("read:files", "write:files"))
    assert scoped.endswith('scope="read:files write:files"')
