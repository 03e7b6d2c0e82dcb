"""What every route of the demo client app shares: its config, sessions, pages, forms and events."""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from valetkey.core.clock import Clock, SystemClock
from valetkey.core.events import Emitter, EventSink, HttpExchange
from valetkey.demo.api import DemoAPI
from valetkey.demo.config import DemoClientConfig
from valetkey.demo.events import expires_in, redact_url
from valetkey.demo.oauth import DemoOAuth
from valetkey.demo.session import COOKIE, Pending, Session, Sessions

HERE = Path(__file__).parent
HEADERS = {"Cache-Control": "no-store", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"}


class DemoClient:
    def __init__(
        self,
        config: DemoClientConfig,
        sink: EventSink,
        http: httpx.AsyncClient,
        clock: Clock | None = None,
    ) -> None:
        self.config = config
        self.clock: Clock = clock or SystemClock()
        self.emit = Emitter(sink, self.clock)
        self.oauth = DemoOAuth(config, self.emit, http, self.clock)
        self.api = DemoAPI(self.oauth)
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
            {
                "config": self.config,
                "s": session,
                "now": self.clock.now(),
                "expires_in": expires_in,
                **ctx,
            },
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

    def begin_login(
        self,
        session: Session,
        pending: Pending,
        start_path: str = "/login",
        note: dict[str, Any] | None = None,
    ) -> str:
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
            summary=_clicked(pending),
            checks=pending.request.checks,
            data={**_login_data(pending, reg.insecure), **(note or {})},
        )
        url = pending.request.url
        self.emit(
            "authorization.redirected",
            pending.flow_id,
            channel="front",
            source="client",
            target="browser",
            summary="303 redirect to the authorization endpoint"
            + (" (response_type=token)" if pending.request.response_type == "token" else ""),
            http=HttpExchange(
                "POST",
                self.config.base_url + start_path,
                status=303,
                response_headers={"location": redact_url(url)},
            ),
            data={"client_id": pending.client.client_id},
        )
        return url


def _clicked(pending: Pending) -> str:
    if pending.mode == "implicit":
        return "Clicks “Log in” (implicit grant, deprecated: no code, no PKCE)"
    if pending.request.code_verifier:
        return "Clicks “Log in”: the client generates code_verifier and code_challenge"
    return "Clicks “Log in” (no PKCE)"


def _login_data(pending: Pending, insecure: str | None) -> dict[str, Any]:
    r = pending.request
    if pending.mode == "implicit":
        return {"kind": "implicit", "client_id": pending.client.client_id, "state": r.state}
    kind = "pkce" if r.code_challenge else "confidential"
    return {
        "kind": "oidc" if pending.client.wants_openid else kind,
        "client_id": pending.client.client_id,
        "code_challenge": r.code_challenge,
        "code_challenge_method": r.code_challenge_method,
        "code_verifier": "(kept by the client, sent only to /token)" if r.code_verifier else None,
        "state": r.state,
        "nonce": r.nonce,
        "insecure": insecure,
    }


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
