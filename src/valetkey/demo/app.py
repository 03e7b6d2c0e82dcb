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

from valetkey.core.events import Check, EventSink, HttpExchange
from valetkey.core.flows import new_flow_id
from valetkey.demo.config import DemoClientConfig
from valetkey.demo.events import Emitter, redact_url
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
    client = DemoClient(config, sink, http or httpx.AsyncClient(timeout=10.0, trust_env=False))

    async def home(request: Request) -> Response:
        session = client.session(request)
        message, session.message = session.message, None
        return client.page(request, session, "home.html", message=message)

    async def login(request: Request) -> Response:
        session = client.session(request)
        values = await client.form(request, session)
        if values is None:
            return client.page(
                request,
                session,
                "error.html",
                status=403,
                title="Form expired",
                detail="Reload the page and try again.",
            )
        mode = values.get("mode", "pkce")
        if mode not in ("pkce", "confidential", "insecure") or (
            mode == "insecure" and not config.public_no_pkce
        ):
            mode = "pkce"
        pending = client.oauth.prepare(mode, values.get("openid") == "on")
        return client.keep(
            RedirectResponse(client.begin_login(session, pending), status_code=303), session
        )

    async def callback(request: Request) -> Response:
        session = client.session(request)
        return client.keep(await handle_callback(client, session, request), session)

    async def action(request: Request) -> Response:
        session = client.session(request)
        values = await client.form(request, session)
        if values is None:
            return client.page(
                request,
                session,
                "error.html",
                status=403,
                title="Form expired",
                detail="Reload the page and try again.",
            )
        name = request.path_params["name"]
        try:
            if name == "api":
                allowed = {(m, p) for m, p, _ in config.api_paths}
                method, path = values.get("method", "GET"), values.get("path", "")
                if (method, path) not in allowed:
                    raise DemoError("unknown API call")
                await client.oauth.call_api(session, method, path)
            elif name == "refresh":
                await client.oauth.refresh(session)
                session.message = "Refreshed: the old refresh token is now retired (rotation)."
            elif name == "password":
                await client.oauth.password_grant(session)
                session.message = "Legacy password grant: the client saw the password (deprecated)."
            elif name == "client-credentials":
                await client.oauth.client_credentials(session)
                session.message = "Client credentials: demo-service got a token for itself."
            elif name == "logout":
                session.tokens, session.decoded, session.userinfo, session.last_api = (
                    None,
                    {},
                    None,
                    None,
                )
                session.skip_state_check = False
        except DemoError as exc:
            session.message = f"Failed: {exc}"
        return client.keep(RedirectResponse("/", status_code=303), session)

    from valetkey.demo.attacks_page import attacks_page, run_attack

    async def attacks(request: Request) -> Response:
        return await attacks_page(client, request)

    async def attack_run(request: Request) -> Response:
        return await run_attack(client, request)

    routes = [
        Route("/", home),
        Route("/login", login, methods=["POST"]),
        Route("/callback", callback),
        Route("/do/{name}", action, methods=["POST"]),
        Route("/attacks", attacks),
        Route("/attacks/run", attack_run, methods=["POST"]),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={Exception: _unexpected})
    app.state.demo = client
    return app


async def handle_callback(client: DemoClient, session: Session, request: Request) -> Response:
    q = request.query_params
    state, code = q.get("state"), q.get("code")
    flow_id = client.sessions.flow_for_state(state) or new_flow_id()
    pending = session.pending.pop(state, None) if state else None
    checks = [_state_check(pending, session), _iss_check(q.get("iss"), client.config.issuer)]
    exchange = HttpExchange("GET", redact_url(str(request.url)), status=303)
    if q.get("error"):
        client.emit(
            "callback.received",
            flow_id,
            channel="front",
            source="browser",
            target="client",
            summary=f"The server sent an error: {q.get('error')}",
            checks=tuple(checks),
            http=exchange,
            error=q.get("error"),
            data={"error_description": q.get("error_description")},
        )
        return client.page(
            request,
            session,
            "error.html",
            status=400,
            title="The authorization server said no",
            detail=f"{q.get('error')}: {q.get('error_description', '')}",
        )
    failed = [c for c in checks if c.outcome == "fail"]
    if failed or not code:
        client.emit(
            "callback.rejected",
            flow_id,
            channel="front",
            source="browser",
            target="client",
            summary="Callback refused: " + (failed[0].detail if failed else "no code"),
            checks=tuple(checks),
            http=HttpExchange("GET", exchange.url, status=400),
            error="invalid_callback",
        )
        return client.page(
            request,
            session,
            "error.html",
            status=400,
            title="Login refused",
            detail=(failed[0].detail if failed else "the callback had no code")
            + ". This browser did not start that login, so the client will not redeem the code.",
        )
    insecure = None
    if pending is None:  # INSECURE demo: the state check is switched off, trust any code
        insecure = "the client skipped the state check"
        pending = Pending(
            state or "",
            flow_id,
            "confidential",
            client.config.confidential.client_id,
            False,
            None,
            None,
            None,
            "",
        )
    client.emit(
        "callback.received",
        flow_id,
        channel="front",
        source="browser",
        target="client",
        summary="Callback with code and state"
        + (" (state NOT checked)" if insecure else ": state matches"),
        checks=tuple(checks),
        http=exchange,
        data={"insecure": insecure} if insecure else {},
    )
    try:
        await client.oauth.redeem(session, pending, code)
        if pending.openid:
            await client.oauth.userinfo(session)
        await client.oauth.call_api(session, "GET", "/api/profile")
    except DemoError as exc:
        session.message = f"Token request failed: {exc}"
    return RedirectResponse("/", status_code=303)


def _state_check(pending: Pending | None, session: Session) -> Check:
    spec = "RFC 6749 §10.12, RFC 9700 §4.7"
    if pending is not None:
        return Check("check_state", "pass", spec, "state matches the request this browser started")
    if session.skip_state_check:
        return Check(
            "check_state", "skip", spec, "INSECURE demo client: the state check is switched off"
        )
    return Check("check_state", "fail", spec, "state does not match any login this browser started")


def _iss_check(iss: str | None, issuer: str) -> Check:
    spec = "RFC 9207 §2.4"
    if iss is None:
        return Check("check_iss", "skip", spec, "no iss parameter")
    ok = hmac.compare_digest(iss.encode(), issuer.encode())
    return Check(
        "check_iss",
        "pass" if ok else "fail",
        spec,
        f"iss={iss}" + ("" if ok else f", expected {issuer}"),
    )


async def _unexpected(request: Request, exc: Exception) -> Response:
    """No stack trace to the browser: say what failed in words, log the rest."""
    log.exception("demo client: unexpected error on %s", request.url.path, exc_info=exc)
    if isinstance(exc, httpx.TransportError):
        text = "The demo client could not reach the authorization server. Is `valetkey demo` still running?"
        return PlainTextResponse(text, status_code=502)
    return PlainTextResponse(
        "The demo client hit an unexpected condition; see the demo's log.", 500
    )
