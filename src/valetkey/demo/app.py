"""The demo client app (the "Client App" actor): log in, callback, tokens, API calls, attacks."""

from __future__ import annotations

import hmac
import logging
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from valetkey.core.events import Emitter, EventSink, HttpExchange
from valetkey.demo.config import DemoClientConfig
from valetkey.demo.events import redact_url
from valetkey.demo.oauth import DemoError, DemoOAuth
from valetkey.demo.session import COOKIE, Pending, Session, Sessions

HERE = Path(__file__).parent
log = logging.getLogger("valetkey.demo")
HEADERS = {"Cache-Control": "no-store", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"}


class DemoClient:
    def __init__(self, config: DemoClientConfig, sink: EventSink, http: httpx.AsyncClient) -> None:
        self.config = config
        self.emit = Emitter(sink)
        self.oauth = DemoOAuth(config, self.emit, http)
        self.sessions = Sessions()
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))

    def session(self, request: Request) -> Session:
        return self.sessions.get(request.cookies.get(COOKIE)) or self.sessions.new()

    def page(
        self, request: Request, session: Session, name: str, status: int = 200, **ctx: Any
    ) -> Response:
        response = self.templates.TemplateResponse(
            request,
            name,
            {"config": self.config, "s": session, "now": time.time(), **ctx},
            status_code=status,
            headers=HEADERS,
        )
        return self.keep(response, session)

    def keep(self, response: Response, session: Session) -> Response:
        response.set_cookie(COOKIE, session.sid, httponly=True, samesite="lax", path="/")
        return response

    async def form(self, request: Request, session: Session) -> dict[str, str] | None:
        body = await request.body()
        try:
            values = dict(parse_qsl(body.decode("utf-8")[:65536], keep_blank_values=True))
        except UnicodeDecodeError:
            return None
        if not hmac.compare_digest(values.get("csrf", ""), session.csrf):
            return None
        return values

    def begin_login(self, session: Session, pending: Pending) -> str:
        """Remember the request, emit steps 1-2, and return the authorization URL."""
        session.pending[pending.state] = pending
        self.sessions.remember_flow(pending.state, pending.flow_id)
        reg = self.config.registration(pending.mode)
        self.emit(
            "login.clicked",
            pending.flow_id,
            channel="front",
            source="user",
            target="client",
            summary="Clicks “Log in”"
            + (
                ": the client generates code_verifier and code_challenge"
                if pending.verifier
                else " (no PKCE)"
            ),
            data={
                "kind": "oidc"
                if pending.openid
                else ("pkce" if pending.challenge else "confidential"),
                "client_id": reg.client_id,
                "code_challenge": pending.challenge,
                "code_challenge_method": "S256" if pending.challenge else None,
                "code_verifier": "(kept by the client, sent only to /token)"
                if pending.verifier
                else None,
                "state": pending.state,
                "nonce": pending.nonce,
                "insecure": reg.insecure,
            },
        )
        url = self.oauth.authorization_url(pending)
        self.emit(
            "authorization.redirected",
            pending.flow_id,
            channel="front",
            source="client",
            target="browser",
            summary="303 redirect to the authorization endpoint",
            http=HttpExchange(
                "POST",
                self.config.base_url + "/login",
                status=303,
                response_headers={"location": redact_url(url)},
            ),
            data={"client_id": reg.client_id},
        )
        return url


def create_demo_client_app(
    config: DemoClientConfig, sink: EventSink, http: httpx.AsyncClient | None = None
) -> Starlette:
    from valetkey.demo.attacks_page import attacks_page, run_attack
    from valetkey.demo.callback import handle_callback
    from valetkey.demo.implicit import landing, receive, start

    routes = [
        Route("/", home),
        Route("/login", login, methods=["POST"]),
        Route("/callback", handle_callback),
        Route("/do/{name}", action, methods=["POST"]),
        Route("/implicit/start", start, methods=["POST"]),
        Route("/implicit", landing, methods=["GET"]),
        Route("/implicit", receive, methods=["POST"]),
        Route("/attacks", attacks_page),
        Route("/attacks/run", run_attack, methods=["POST"]),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={Exception: _unexpected})
    app.state.demo = DemoClient(
        config, sink, http or httpx.AsyncClient(timeout=10.0, trust_env=False)
    )
    return app


def client_of(request: Request) -> DemoClient:
    client: DemoClient = request.app.state.demo
    return client


def expired(client: DemoClient, request: Request, session: Session) -> Response:
    return client.page(
        request,
        session,
        "error.html",
        status=403,
        title="Form expired",
        detail="Reload the page and try again.",
    )


async def home(request: Request) -> Response:
    client = client_of(request)
    session = client.session(request)
    message, session.message = session.message, None
    return client.page(request, session, "home.html", message=message)


async def login(request: Request) -> Response:
    client = client_of(request)
    session = client.session(request)
    values = await client.form(request, session)
    if values is None:
        return expired(client, request, session)
    mode = values.get("mode", "pkce")
    if mode not in ("pkce", "confidential", "insecure") or (
        mode == "insecure" and not client.config.public_no_pkce
    ):
        mode = "pkce"
    pending = client.oauth.prepare(mode, values.get("openid") == "on")
    url = client.begin_login(session, pending)
    return client.keep(RedirectResponse(url, status_code=303), session)


async def action(request: Request) -> Response:
    client = client_of(request)
    session = client.session(request)
    values = await client.form(request, session)
    if values is None:
        return expired(client, request, session)
    try:
        await _act(client, session, request.path_params["name"], values)
    except DemoError as exc:
        session.message = f"Failed: {exc}"
    return client.keep(RedirectResponse("/", status_code=303), session)


async def _act(client: DemoClient, session: Session, name: str, values: dict[str, str]) -> None:
    oauth = client.oauth
    if name == "api":
        method, path = values.get("method", "GET"), values.get("path", "")
        if (method, path) not in {(m, p) for m, p, _ in client.config.api_paths}:
            raise DemoError("unknown API call")
        await oauth.call_api(session, method, path)
    elif name == "refresh":
        await oauth.refresh(session)
        session.message = "Refreshed: the old refresh token is now retired (rotation)."
    elif name == "password":
        await oauth.password_grant(session)
        session.message = "Legacy password grant: the client saw the password (deprecated)."
    elif name == "client-credentials":
        await oauth.client_credentials(session)
        session.message = "Client credentials: demo-service got a token for itself."
    elif name == "logout":
        session.tokens, session.decoded, session.userinfo, session.last_api = None, {}, None, None
        session.skip_state_check = False
    else:
        raise DemoError(f"unknown action {name[:40]!r}")


async def _unexpected(request: Request, exc: Exception) -> Response:
    """No stack trace to the browser: say what failed in words, log the rest."""
    log.exception("demo client: unexpected error on %s", request.url.path, exc_info=exc)
    if isinstance(exc, httpx.TransportError):
        text = "The demo client could not reach the authorization server. Is `valetkey demo` still running?"
        return PlainTextResponse(text, status_code=502)
    return PlainTextResponse(
        "The demo client hit an unexpected condition; see the demo's log.", 500
    )
