"""core.bearer with plain values: where the token is found, and the answer for each refusal
(RFC 6750 §2, §3.1). The resource server and /userinfo both call these (tests/server/
test_userinfo_bearer.py holds the two HTTP answers together)."""

from __future__ import annotations

import pytest

from valetkey.core.bearer import NoCredentials, find_token, query_has_token, refusal
from valetkey.core.errors import (
    InsufficientScope,
    InvalidRequest,
    InvalidToken,
    OAuthError,
    StorageUnavailable,
    TemporarilyUnavailable,
)
from valetkey.core.text import is_safe

JWT = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln-_~+/=="

# (Authorization header values, token in the query, access_token values in the body) -> outcome:
# a token, NoCredentials ("none"), or the InvalidRequest rule that refused the request.
FIND_CASES: list[tuple[str, list[str], bool, list[str], str]] = [
    ("header", [f"Bearer {JWT}"], False, [], JWT),
    ("scheme in any case", [f"bEARER {JWT}"], False, [], JWT),
    ("spaces around", [f"  Bearer   {JWT}  "], False, [], JWT),
    ("body", [], False, [JWT], JWT),
    ("nothing", [], False, [], "none"),
    ("another scheme", ["Basic YTpi"], False, [], "none"),
    ("scheme glued to token", ["Bearerabc"], False, [], "none"),
    ("two headers", ["Bearer a", "Bearer b"], False, [], "one_authorization_header"),
    ("two headers, other schemes", ["Basic a", "Basic b"], False, [], "one_authorization_header"),
    ("query", [], True, [], "no_token_in_query"),
    ("query and header", ["Bearer a"], True, [], "no_token_in_query"),
    ("header and body", ["Bearer a"], False, ["a"], "one_method"),
    ("other scheme and body", ["Basic YTpi"], False, ["a"], "one_method"),
    ("body twice", [], False, ["a", "b"], "one_access_token"),
    ("empty", ["Bearer"], False, [], "bearer_syntax"),
    ("empty after spaces", ["Bearer    "], False, [], "bearer_syntax"),
    ("empty body value", [], False, [""], "bearer_syntax"),
    ("space inside", ["Bearer a b"], False, [], "bearer_syntax"),
    ("padding first", ["Bearer =abc"], False, [], "bearer_syntax"),
    ("not ASCII", ["Bearer \u00e9t\u00e9"], False, [], "bearer_syntax"),
    ("Latin-1 bytes", [b"Bearer \xff\xfe".decode("latin-1")], False, [], "bearer_syntax"),
    ("quote", ['Bearer a"b'], False, [], "bearer_syntax"),
    ("longest accepted", ["Bearer " + "a" * 8192], False, [], "a" * 8192),
    ("too long", ["Bearer " + "a" * 8193], False, [], "token_size"),
    ("too long in the body", [], False, ["a" * 8193], "token_size"),
]


@pytest.mark.parametrize(
    ("case", "headers", "in_query", "body", "expected"), FIND_CASES, ids=[c[0] for c in FIND_CASES]
)
def test_find_token(
    case: str, headers: list[str], in_query: bool, body: list[str], expected: str
) -> None:
    try:
        found = find_token(headers, in_query=in_query, in_body=body)
    except NoCredentials as missing:
        assert expected == "none", (case, missing.description)
        assert is_safe(missing.description)
    except InvalidRequest as bad:
        assert bad.rule == expected, (case, bad.description)
        assert bad.spec.startswith("RFC 6750 §")
        assert is_safe(bad.description)
    else:
        assert found == expected, case


def test_a_foreign_scheme_is_named_safely() -> None:
    with pytest.raises(NoCredentials) as caught:
        find_token(['B"a\\s\u00e9c YTpi'])
    assert "'B?a?s?c'" in caught.value.description


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (b"access_token=t", True),
        (b"a=1&access_token=", True),
        (b"a=1&access_token", True),
        (b"", False),
        (b"not_access_token=1&x=access_token", False),
        (b"access_tokens=1", False),
    ],
)
def test_query_has_token(query: bytes, expected: bool) -> None:
    assert query_has_token(query) is expected


# refusal -> (status, WWW-Authenticate or None, body)
REFUSALS = [
    (
        NoCredentials("no token"),
        (),
        401,
        'Bearer realm="api"',
        {"error_description": "no token"},
    ),
    (
        InvalidRequest("two headers"),
        (),
        400,
        'Bearer realm="api", error="invalid_request", error_description="two headers"',
        {"error": "invalid_request", "error_description": "two headers"},
    ),
    (
        InvalidToken("expired"),
        ("read",),
        401,
        'Bearer realm="api", error="invalid_token", error_description="expired", scope="read"',
        {"error": "invalid_token", "error_description": "expired", "scope": "read"},
    ),
    (
        InsufficientScope("more"),
        ("read:files", "write:files"),
        403,
        'Bearer realm="api", error="insufficient_scope", error_description="more", '
        'scope="read:files write:files"',
        {
            "error": "insufficient_scope",
            "error_description": "more",
            "scope": "read:files write:files",
        },
    ),
    (
        TemporarilyUnavailable("later"),
        (),
        503,
        None,
        {"error": "temporarily_unavailable", "error_description": "later"},
    ),
]


@pytest.mark.parametrize(("refused", "scope", "status", "challenge", "body"), REFUSALS)
def test_refusal(
    refused: Exception,
    scope: tuple[str, ...],
    status: int,
    challenge: str | None,
    body: dict[str, str],
) -> None:
    assert isinstance(refused, NoCredentials | OAuthError)
    answer = refusal(refused, realm="api", scope=scope)
    assert answer.status == status
    assert answer.headers.get("WWW-Authenticate") == challenge
    assert answer.body == body


def test_no_credentials_without_realm_is_a_bare_challenge() -> None:
    assert refusal(NoCredentials("x")).headers == {"WWW-Authenticate": "Bearer"}


def test_an_outage_says_when_to_ask_again() -> None:
    assert refusal(TemporarilyUnavailable("later")).headers == {"Retry-After": "5"}
    outage = StorageUnavailable(retry_after=7)
    assert refusal(outage).headers == {"Retry-After": "7"}


def test_descriptions_are_made_safe_in_the_body_and_the_challenge() -> None:
    answer = refusal(InvalidToken('bad "quoted" \\ t\u00e9xt\n'), realm='r"e\u00e9')
    assert answer.body["error_description"] == "bad ?quoted? ? t?xt?"
    assert answer.headers["WWW-Authenticate"] == (
        'Bearer realm="r?e?", error="invalid_token", error_description="bad ?quoted? ? t?xt?"'
    )
