"""The demo client using its tokens: the demo API and userinfo, with the library's ``TokenAuth``."""

from __future__ import annotations

from typing import Any

import httpx

from valetkey.client import TokenAuth
from valetkey.core.events import Emitter
from valetkey.core.flows import FLOW_HEADER, new_flow_id
from valetkey.demo.config import DemoClientConfig
from valetkey.demo.events import exchange_of
from valetkey.demo.oauth import DemoError, DemoOAuth
from valetkey.demo.session import Session

NOTE = {"name": "note.txt", "content": "hello from the demo client"}


class DemoAPI:
    def __init__(self, oauth: DemoOAuth) -> None:
        self.oauth = oauth

    @property
    def config(self) -> DemoClientConfig:
        return self.oauth.config

    @property
    def emit(self) -> Emitter:
        return self.oauth.emit

    @property
    def http(self) -> httpx.AsyncClient:
        return self.oauth.http

    async def call(self, session: Session, method: str, path: str) -> dict[str, Any]:
        if session.tokens is None:
            raise DemoError("no access token: log in first")
        flow_id = session.flow_id or new_flow_id()
        url = self.config.resource_url.rstrip("/") + path
        try:
            r = await self.http.request(
                method,
                url,
                # RFC 6750 §2.1, or RFC 9449 §7.1 for a bound token; no refresh behind the back
                auth=TokenAuth(session.tokens, dpop=session.dpop),
                headers={FLOW_HEADER: flow_id},
                json=NOTE if method == "POST" else None,
            )
        except httpx.TransportError as exc:
            self.emit(
                "api.responded",
                flow_id,
                channel="back",
                source="client",
                target="resource_server",
                error="unreachable",
                data={"url": url},
                summary=f"{method} {path}: the resource server is not reachable",
            )
            reason = f"resource server unreachable: {type(exc).__name__}"
            session.last_api = {"method": method, "path": path, "status": None, "body": reason}
            return session.last_api
        exchange = exchange_of(r)
        self.emit(
            "api.responded",
            flow_id,
            channel="back",
            source="resource_server",
            target="client",
            summary=f"{method} {path} → {r.status_code}",
            http=exchange,
            error=_error_of(r.status_code, exchange.response_body),
        )
        session.last_api = {
            "method": method,
            "path": path,
            "status": r.status_code,
            "body": exchange.response_body,
        }
        return session.last_api

    async def userinfo(self, session: Session) -> None:
        endpoint = (await self.oauth.endpoints()).metadata.get("userinfo_endpoint")
        if not isinstance(endpoint, str) or session.tokens is None or not session.flow_id:
            return
        r = await self.http.get(
            endpoint,
            auth=TokenAuth(session.tokens, dpop=session.dpop),
            headers={FLOW_HEADER: session.flow_id},
        )
        exchange = exchange_of(r)
        session.userinfo = (
            exchange.response_body if isinstance(exchange.response_body, dict) else None
        )
        self.emit(
            "userinfo.received",
            session.flow_id,
            channel="back",
            source="authorization_server",
            target="client",
            summary=f"GET /userinfo → {r.status_code}",
            http=exchange,
            error=None if r.status_code == 200 else f"http_{r.status_code}",
        )


def _error_of(status: int, body: Any) -> str | None:
    if status < 400:
        return None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return str(body["error"])
    return f"http_{status}"
