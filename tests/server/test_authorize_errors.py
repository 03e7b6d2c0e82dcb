"""Every authorization-request error: the exact code, redirect vs error page, and nothing issued."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from tests.conftest import ISSUER, InProcess
from tests.support.flows import redirect_params
from valetkey.core import pkce
from valetkey.store import schema

CB = "http://127.0.0.1:9999/callback"
CHALLENGE = pkce.s256("v" * 43)


def good(**overrides: str | None) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": "cli",
        "redirect_uri": CB,
        "scope": "read:profile",
        "state": "st@te with spaces&x=1",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
    }
    params.update({k: v for k, v in overrides.items() if v is not None})
    for k, v in overrides.items():
        if v is None:
            params.pop(k, None)
    return params


def nothing_issued(server: InProcess) -> None:
    with server.store.engine.connect() as conn:
        for table in (
            schema.authorization_codes,
            schema.access_tokens,
            schema.refresh_tokens,
            schema.grants,
        ):
            assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() == 0


def rejected_event(server: InProcess) -> tuple[str, str]:
    event = server.sink.named("authorization.rejected")[-1]
    failed = [c for c in event.checks if c.outcome == "fail"]
    assert len(failed) == 1 and failed[0].spec, event.checks
    return failed[0].rule, failed[0].spec


@pytest.mark.parametrize(
    ("params", "error", "rule"),
    [
        (good(client_id=None), "invalid_request", "check_client"),
        (good(client_id="nobody"), "invalid_client", "check_client"),
        (good(redirect_uri="https://evil.example/cb"), "invalid_request", "check_redirect_uri"),
        (
            good(redirect_uri="http://127.0.0.1:9999/callback/extra"),
            "invalid_request",
            "check_redirect_uri",
        ),
        (
            good(redirect_uri="http://localhost:9999/callback"),
            "invalid_request",
            "check_redirect_uri",
        ),
        (
            good(redirect_uri=CB + "?next=https://evil.example"),
            "invalid_request",
            "check_redirect_uri",
        ),
    ],
)
def test_bad_client_or_redirect_shows_an_error_page_and_never_redirects(
    server: InProcess, params: dict[str, str], error: str, rule: str
) -> None:
    r = server.http.get("/authorize?" + urlencode(params))
    assert r.status_code == 400
    assert "location" not in r.headers
    assert "text/html" in r.headers["content-type"]
    assert f"<code>{error}</code>" in r.text
    assert rejected_event(server)[0] == rule
    nothing_issued(server)


def test_client_with_several_redirect_uris_must_name_one(server: InProcess) -> None:
    r = server.http.get("/authorize?" + urlencode(good(client_id="web", redirect_uri=None)))
    assert r.status_code == 400 and "location" not in r.headers
    assert "redirect_uri is required" in r.text


@pytest.mark.parametrize(
    ("params", "error", "words", "rule"),
    [
        (
            good(response_type=None),
            "invalid_request",
            "response_type is missing",
            "check_response_type",
        ),
        (
            good(response_type="id_token"),
            "unsupported_response_type",
            "not supported",
            "check_response_type",
        ),
        (
            good(response_type="token"),
            "unsupported_response_type",
            "implicit",
            "check_client_may_use_response_type",
        ),
        (
            good(code_challenge=None, code_challenge_method=None),
            "invalid_request",
            "code_challenge is required",
            "check_pkce",
        ),
        (
            good(code_challenge_method="plain", code_challenge="a" * 43),
            "invalid_request",
            "plain is not allowed",
            "check_pkce",
        ),
        (good(code_challenge_method=None), "invalid_request", "plain is not allowed", "check_pkce"),
        (good(code_challenge_method="S512"), "invalid_request", "not supported", "check_pkce"),
        (good(code_challenge="short"), "invalid_request", "malformed", "check_pkce"),
        (good(code_challenge=None), "invalid_request", "without a code_challenge", "check_pkce"),
        (
            good(scope="read:profile delete:everything"),
            "invalid_scope",
            "unknown scope: delete:everything",
            "check_scope",
        ),
        (good(scope="read:profile\\bad"), "invalid_scope", "RFC 6749 §3.3", "check_scope"),
        (good(prompt="sometimes"), "invalid_request", "prompt", "check_prompt_and_max_age"),
        (good(max_age="-1"), "invalid_request", "max_age", "check_prompt_and_max_age"),
        (
            good(response_mode="form_post"),
            "invalid_request",
            "response_mode",
            "check_response_mode",
        ),
    ],
)
def test_other_errors_redirect_with_error_description_state_and_iss(
    server: InProcess, params: dict[str, str], error: str, words: str, rule: str
) -> None:
    r = server.http.get("/authorize?" + urlencode(params))
    assert r.status_code == 303
    location = r.headers["location"]
    # RFC 6749 §4.2.2.1: an implicit-style request (response_type=token) gets its error in the fragment.
    assert location.startswith(CB + ("#" if params.get("response_type") == "token" else "?"))
    got = redirect_params(location)
    assert got["error"] == error
    assert words in got["error_description"]
    assert got["state"] == params["state"]  # the exact state, RFC 6749 §4.1.2.1
    assert got["iss"] == ISSUER  # RFC 9207
    assert "code" not in got
    assert rejected_event(server)[0] == rule
    nothing_issued(server)


def test_scope_outside_the_clients_allow_list(server: InProcess) -> None:
    r = server.http.get(
        "/authorize?"
        + urlencode(
            good(client_id="plain-client", redirect_uri="http://127.0.0.1/cb", scope="read:files")
        )
    )
    got = redirect_params(r.headers["location"])
    assert (
        got["error"] == "invalid_scope"
        and "may not request: read:files" in got["error_description"]
    )


def test_repeated_parameter_is_refused(server: InProcess) -> None:
    query = urlencode(good()) + "&scope=read:files"
    got = redirect_params(server.http.get("/authorize?" + query).headers["location"])
    assert got["error"] == "invalid_request" and "scope is repeated" in got["error_description"]


def test_repeated_redirect_uri_is_an_error_page(server: InProcess) -> None:
    r = server.http.get("/authorize?" + urlencode(good()) + "&redirect_uri=https://evil.example/cb")
    assert r.status_code == 400 and "location" not in r.headers


def test_client_not_registered_for_the_code_grant(server: InProcess) -> None:
    # "svc" is registered for client_credentials only, with no redirect URI: error page.
    r = server.http.get("/authorize?" + urlencode(good(client_id="svc", redirect_uri=None)))
    assert r.status_code == 400 and "location" not in r.headers


def test_error_without_state_has_no_state(server: InProcess) -> None:
    got = redirect_params(
        server.http.get("/authorize?" + urlencode(good(state=None, scope="nope"))).headers[
            "location"
        ]
    )
    assert "state" not in got and got["error"] == "invalid_scope" and got["iss"] == ISSUER


def test_private_use_scheme_redirect_for_native_apps(server: InProcess) -> None:
    r = server.http.get(
        "/authorize?" + urlencode(good(redirect_uri="com.example.app:/callback", scope="nope"))
    )
    assert r.headers["location"].startswith("com.example.app:/callback?error=invalid_scope")


def test_valid_request_asks_for_login_on_a_protected_page(server: InProcess) -> None:
    r = server.http.get("/authorize?" + urlencode(good()))
    assert r.status_code == 200
    assert 'name="username"' in r.text and 'name="password"' in r.text
    assert r.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["cache-control"] == "no-store"
    nothing_issued(server)


def test_authorization_request_by_post_is_accepted(server: InProcess) -> None:
    r = server.http.post("/authorize", data=good())
    assert r.status_code == 200 and 'name="password"' in r.text


def test_confidential_client_may_skip_pkce_only_when_registered_so(server: InProcess) -> None:
    r = server.http.get(
        "/authorize?"
        + urlencode(
            good(
                client_id="legacy-web",
                redirect_uri="https://legacy.example/cb",
                code_challenge=None,
                code_challenge_method=None,
            )
        )
    )
    assert r.status_code == 200 and 'name="password"' in r.text
    r = server.http.get(
        "/authorize?"
        + urlencode(
            good(
                client_id="web",
                redirect_uri="https://web.example/callback",
                code_challenge=None,
                code_challenge_method=None,
            )
        )
    )
    assert redirect_params(r.headers["location"])["error"] == "invalid_request"


def raw_get(server: InProcess, path: str, query: bytes) -> tuple[int, bytes]:
    """GET with a query string of raw bytes (httpx would percent-encode them), straight to the app."""
    import asyncio

    from valetkey.asgi import create_app

    app = create_app(server.state)
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 80),
    }
    asyncio.run(app(scope, receive, send))  # type: ignore[arg-type]
    body = b"".join(m.get("body", b"") for m in sent[1:])  # type: ignore[misc]
    return int(sent[0]["status"]), body  # type: ignore[call-overload]


@pytest.mark.parametrize("path", ["/authorize", "/logout"])
def test_a_query_string_that_is_not_utf8_gets_an_error_page_not_a_500(
    server: InProcess, path: str
) -> None:
    status, body = raw_get(server, path, b"response_type=code&client_id=\xff\xfe")
    assert status == 400 and b"not valid UTF-8" in body and b"Traceback" not in body
    nothing_issued(server)


def test_events_show_a_query_that_is_not_utf8_with_replacement_marks(server: InProcess) -> None:
    """The recorded request URL of an observed server never fails on a bad query string."""
    from starlette.requests import Request

    from valetkey.server.http import exchange

    scope = {
        "type": "http",
        "method": "POST",
        "scheme": "http",
        "path": "/token",
        "query_string": b"x=\xff&code=secret",
        "headers": [(b"host", b"as.example")],
    }
    seen = exchange(Request(scope), {}, None)  # type: ignore[arg-type]
    assert seen is not None
    assert seen.url.startswith("http://as.example/token?x=%EF%BF%BD")
    assert "secret" not in seen.url  # still redacted
