"""HTML pages (login, consent, errors) and the browser cookies: login session and CSRF binding."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from valetkey.core import secrets as vsecrets
from valetkey.core.models import LoginSession
from valetkey.core.secrets import new_token
from valetkey.server.cookies import set_cookie
from valetkey.server.csp import form_action_source, page_policy
from valetkey.server.http import PAGE_HEADERS, rows_of, with_rows
from valetkey.server.state import ServerState

SESSION_COOKIE = "vk_session"
BROWSER_COOKIE = "vk_browser"
if TYPE_CHECKING:
    from jinja2 import Environment


@cache
def _env() -> Environment:
    """The template environment, made on the first page (Jinja2 is not loaded at start-up: the
    hot endpoints render no page)."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    return Environment(
        loader=FileSystemLoader(Path(__file__).with_name("templates")),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        # The templates ship with the package: no stat() of each file on every page to see
        # whether it changed.
        auto_reload=False,
    )

SCOPE_WORDS = {
    "openid": "Confirm who you are (your user identifier)",
    "profile": "See your name and basic profile",
    "email": "See your email address",
    "address": "See your postal address",
    "phone": "See your phone number",
    "offline_access": "Stay connected when you are not using it (refresh tokens)",
    "read:profile": "Read your profile",
    "read:files": "Read your files",
    "write:files": "Create and change your files",
}


def describe_scope(scope: str) -> str:
    if scope in SCOPE_WORDS:
        return SCOPE_WORDS[scope]
    action, _, thing = scope.partition(":")
    if thing:
        return f"{action.capitalize()} your {thing.replace('_', ' ')}"
    return f"Access “{scope}”"


def _secure(state: ServerState) -> bool:
    return state.issuer.startswith("https://")


def browser_id(request: Request) -> str | None:
    value = request.cookies.get(BROWSER_COOKIE)
    return value if value and len(value) <= 64 else None


def render(
    state: ServerState,
    request: Request,
    template: str,
    *,
    status: int = 200,
    csrf_purpose: str | None = None,
    redirect_to: str | None = None,
    **context: Any,
) -> Response:
    """``template`` as a page; ``redirect_to``: the client URI its form can answer with a redirect
    to, which the page's policy must allow (``csp.page_policy``)."""
    bid = browser_id(request)
    new_bid = None
    if bid is None:
        bid = new_bid = new_token(24)
    csrf = state.signer.csrf_token(bid, csrf_purpose) if csrf_purpose else ""
    html = _env().get_template(template).render(csrf_token=csrf, issuer=state.issuer, **context)
    headers = dict(PAGE_HEADERS)
    if redirect_to:
        headers["Content-Security-Policy"] = page_policy(redirect_to)
    response = HTMLResponse(html, status_code=status, headers=headers)
    if new_bid is not None:
        set_cookie(response, BROWSER_COOKIE, new_bid, secure=_secure(state))
    return response


def onward(
    state: ServerState, request: Request, response: Response, target: str, client_name: str
) -> Response:
    """A form's answer that redirects to ``target``, as sent to the browser.

    CSP ``form-action`` governs the redirect that answers a form, and some redirect URIs cannot be
    named in a policy (an IPv6 loopback literal such as ``http://[::1]:8400/cb``, a non-ASCII host).
    For those the redirect becomes a page that sends the browser on (a navigation from a page is
    not a form submission), instead of widening the policy. Rows and cookies go with it."""
    location = response.headers.get("location")
    if location is None or form_action_source(target) is not None:
        return response
    page = render(
        state, request, "continue.html", location=location, client_name=client_name
    )
    for name, value in response.raw_headers:
        if name == b"set-cookie":
            page.raw_headers.append((name, value))
    return with_rows(page, *rows_of(response))


def error_page(
    state: ServerState, request: Request, title: str, message: str, error: str, status: int = 400
) -> Response:
    return render(
        state, request, "error.html", status=status, title=title, message=message, error=error
    )


def _session_digest(state: ServerState, request: Request) -> str | None:
    session_id = state.signer.unsign("session", request.cookies.get(SESSION_COOKIE))
    return vsecrets.digest(session_id) if session_id else None


def current_session(state: ServerState, request: Request) -> LoginSession | None:
    digest = _session_digest(state, request)
    session = state.store.get_session(digest) if digest else None
    if session is None or session.expires_at <= state.clock.now():
        return None
    return session


def session_and_consent(
    state: ServerState, request: Request, client_id: str
) -> tuple[LoginSession | None, tuple[str, ...]]:
    """The browser's live session and the scopes its user approved for ``client_id``: one read."""
    digest = _session_digest(state, request)
    if not digest:
        return None, ()
    session, granted = state.store.get_session_and_consent(digest, client_id)
    if session is None or session.expires_at <= state.clock.now():
        return None, ()
    return session, granted


def new_session(state: ServerState, sub: str) -> tuple[str, LoginSession]:
    now = state.clock.now()
    session_id = new_token(32)
    session = LoginSession(vsecrets.digest(session_id), sub, now, now + state.settings.session_ttl)
    state.store.create_session(session.session_id, session)
    return session_id, session


def set_session_cookie(state: ServerState, response: Response, session_id: str) -> None:
    set_cookie(
        response,
        SESSION_COOKIE,
        state.signer.sign("session", session_id),
        secure=_secure(state),
        max_age=state.settings.session_ttl,
    )


def end_session(state: ServerState, request: Request, response: Response) -> None:
    session_id = state.signer.unsign("session", request.cookies.get(SESSION_COOKIE))
    if session_id:
        state.store.end_session(vsecrets.digest(session_id))
    response.delete_cookie(SESSION_COOKIE, path="/")
