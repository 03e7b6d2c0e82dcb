"""Every authorization-request error: the exact code, redirect vs error page, and nothing issued."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from tests.conftest import ISSUER, InProcess
from tests.core.authorize_cases import CASES, VALID, Case, good
from tests.support.flows import redirect_params
from valetkey.store import schema


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


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_authorization_request_errors(server: InProcess, case: Case) -> None:
    r = server.http.get("/authorize?" + case.query)
    assert rejected_event(server)[0] == case.rule
    nothing_issued(server)
    if not case.redirected:
        # RFC 6749 §4.1.2.1: a bad client or redirect URI gets an error page, never a redirect.
        assert r.status_code == 400
        assert "location" not in r.headers
        assert "text/html" in r.headers["content-type"]
        assert f"<code>{case.error.error}</code>" in r.text
        assert case.words in r.text
        return
    assert r.status_code == 303
    location = r.headers["location"]
    redirect_uri = case.params["redirect_uri"]
    # RFC 6749 §4.2.2.1: an implicit-style request (response_type=token) gets its error in the fragment.
    assert location.startswith(redirect_uri + ("#" if case.fragment else "?"))
    got = redirect_params(location)
    assert got["error"] == case.error.error
    assert case.words in got["error_description"]
    assert got.get("state") == case.params.get("state")  # the exact state, RFC 6749 §4.1.2.1
    assert got["iss"] == ISSUER  # RFC 9207
    assert "code" not in got


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


@pytest.mark.parametrize(("name", "params"), VALID, ids=[v[0] for v in VALID])
def test_valid_requests_ask_the_user_to_sign_in(
    server: InProcess, name: str, params: dict[str, str]
) -> None:
    r = server.http.get("/authorize?" + urlencode(params))
    assert r.status_code == 200 and 'name="password"' in r.text
    nothing_issued(server)


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


def test_the_interaction_step_records_why_in_its_event(server: InProcess) -> None:
    """The core interaction decision's checks travel with the page or the error it chose."""
    server.http.get("/authorize?" + urlencode(good()))
    shown = server.sink.named("login.shown")[-1]
    assert shown.checks == () and shown.ok  # a page is a step done, not a failure
    assert shown.data == {
        "rule": "check_signed_in",
        "spec": "OIDC Core §3.1.2.3",
        "reason": "no sign-in session in this browser",
    }
    r = server.http.get("/authorize?" + urlencode(good(prompt="none")))
    assert redirect_params(r.headers["location"])["error"] == "login_required"
    event = server.sink.named("authorization.rejected")[-1]
    assert event.data["rule"] == "check_signed_in"
    assert event.checks[-1].spec == event.data["spec"] == "OIDC Core §3.1.2.6"
    nothing_issued(server)
