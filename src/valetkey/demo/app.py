"""The demo client app (the "Client App" actor): log in, callback, tokens, API calls, attacks."""

from __future__ import annotations

import logging

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from valetkey.client import ClientError
from valetkey.core.clock import Clock
from valetkey.core.events import EventSink
from valetkey.demo.attacks_page import attacks_page, run_attack
from valetkey.demo.base import HERE, DemoClient, client_of, expired
from valetkey.demo.callback import handle_callback
from valetkey.demo.config import DemoClientConfig
from valetkey.demo.implicit import landing, receive, start_login
from valetkey.demo.oauth import DemoError
from valetkey.demo.session import Session

log = logging.getLogger("valetkey.demo")
MODES = ("pkce", "confidential", "insecure")


def create_demo_client_app(
    config: DemoClientConfig,
    sink: EventSink,
    http: httpx.AsyncClient | None = None,
    clock: Clock | None = None,
) -> Starlette:
    routes = [
        Route("/", home),
        Route("/login", login, methods=["POST"]),
        Route("/callback", handle_callback),
        Route("/do/{name}", action, methods=["POST"]),
        Route("/implicit/start", start_login, methods=["POST"]),
        Route("/implicit", landing, methods=["GET"]),
        Route("/implicit", receive, methods=["POST"]),
        Route("/attacks", attacks_page),
        Route("/attacks/run", run_attack, methods=["POST"]),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={Exception: _unexpected})
    http = http or httpx.AsyncClient(timeout=10.0, trust_env=False)
    app.state.demo = DemoClient(config, sink, http, clock)
    return app


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
    if mode not in MODES or (mode == "insecure" and not client.config.public_no_pkce):
        mode = "pkce"
    pending = await client.oauth.prepare(mode, values.get("openid") == "on")
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
        await client.api.call(session, method, path)
    elif name == "refresh":
        await oauth.refresh(session)
        session.message = "Refreshed: the old refresh token is now retired (rotation)."
    elif name == "password":
        await oauth.password_grant(session)
        await client.api.call(session, "GET", "/api/profile")
        session.message = "Legacy password grant: the client saw the password (deprecated)."
    elif name == "client-credentials":
        await oauth.client_credentials(session)
        await client.api.call(session, "GET", "/api/files")
        session.message = "Client credentials: demo-service got a token for itself."
    elif name == "logout":
        session.tokens, session.decoded, session.userinfo, session.last_api = None, {}, None, None
        session.skip_state_check = False
    else:
        raise DemoError(f"unknown action {name[:40]!r}")


async def _unexpected(request: Request, exc: Exception) -> Response:
    """No stack trace to the browser: say what failed in words, log the rest."""
    log.exception("demo client: unexpected error on %s", request.url.path, exc_info=exc)
    if isinstance(exc, httpx.TransportError) or isinstance(exc.__cause__, httpx.TransportError):
        text = "The demo client could not reach the authorization server. Is `valetkey demo` still running?"
        return PlainTextResponse(text, status_code=502)
    if isinstance(exc, ClientError):  # e.g. discovery: metadata for another issuer
        return PlainTextResponse(f"The demo client cannot use the server: {exc}", 502)
    return PlainTextResponse(
        "The demo client hit an unexpected condition; see the demo's log.", 500
    )
