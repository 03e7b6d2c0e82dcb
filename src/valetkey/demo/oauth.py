"""The demo client's OAuth steps: start a login, redeem the code, refresh, call the API.

A real client of the valetkey server over HTTP. It emits its own events into the demo's sink with
the flow ids the server derives, and names its flow in ``X-Valetkey-Flow`` on back-channel calls.
"""

from __future__ import annotations

import base64
import time
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from valetkey.core import pkce
from valetkey.core.events import Check, Emitter
from valetkey.core.flows import FLOW_HEADER, authorization_flow_id, new_flow_id
from valetkey.core.secrets import new_token
from valetkey.demo.config import ClientRegistration, DemoClientConfig
from valetkey.demo.events import decode, exchange_of
from valetkey.demo.idtoken import check_id_token
from valetkey.demo.session import Pending, Session

BASE_SCOPE = "read:profile read:files write:files"


class DemoError(Exception):
    """A step failed; the message is shown to the user of the demo."""


class DemoOAuth:
    def __init__(self, config: DemoClientConfig, emit: Emitter, http: httpx.AsyncClient) -> None:
        self.config, self.emit, self.http = config, emit, http
        self._metadata: dict[str, Any] | None = None

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            r = await self.http.get(self.config.issuer + "/.well-known/oauth-authorization-server")
            r.raise_for_status()
            self._metadata = dict(r.json())
        return self._metadata

    def prepare(self, mode: str, openid: bool) -> Pending:
        reg = self.config.registration(mode)
        verifier = pkce.new_verifier() if reg.pkce else None
        challenge = pkce.s256(verifier) if verifier else None
        nonce = new_token(16) if openid else None
        state = new_token(16)
        scope = ("openid profile email " if openid else "") + BASE_SCOPE
        flow_id = authorization_flow_id(
            reg.client_id, self.config.redirect_uri, state, challenge, nonce
        )
        return Pending(
            state, flow_id, mode, reg.client_id, openid, verifier, challenge, nonce, scope
        )

    def authorization_url(self, p: Pending) -> str:
        params = {
            "response_type": "code",
            "client_id": p.client_id,
            "redirect_uri": self.config.redirect_uri,
            "scope": p.scope,
            "state": p.state,
        }
        if p.challenge:
            params.update(code_challenge=p.challenge, code_challenge_method="S256")
        if p.nonce:
            params["nonce"] = p.nonce
        return f"{self.config.issuer}/authorize?{urlencode(params)}"

    def _auth(self, reg: ClientRegistration, form: dict[str, str]) -> dict[str, str]:
        if reg.secret is None:
            form["client_id"] = reg.client_id
            return {}
        # RFC 6749 §2.3.1: HTTP Basic with the form-urlencoded id and secret.
        pair = f"{quote(reg.client_id, safe='')}:{quote(reg.secret, safe='')}"
        return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode("ascii")}

    async def token_request(
        self, reg: ClientRegistration, form: dict[str, str], flow_id: str, who: str = "client"
    ) -> tuple[httpx.Response, dict[str, Any]]:
        auth = self._auth(reg, form)
        r = await self.http.post(
            self.config.issuer + "/token", data=form, headers={FLOW_HEADER: flow_id, **auth}
        )
        try:
            body = dict(r.json())
        except ValueError:
            body = {"error": "server_error", "error_description": r.text[:200]}
        return r, body

    async def redeem(self, session: Session, p: Pending, code: str, *, who: str = "") -> None:
        reg = self.config.registration(p.mode)
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.config.redirect_uri,
        }
        if p.verifier:
            form["code_verifier"] = p.verifier
        r, body = await self.token_request(reg, form, p.flow_id)
        if r.status_code != 200:
            raise DemoError(f"{body.get('error')}: {body.get('error_description', '')}")
        await self.receive_tokens(session, reg, body, p.flow_id, nonce=p.nonce, who=who)

    async def receive_tokens(
        self,
        session: Session,
        reg: ClientRegistration,
        body: dict[str, Any],
        flow_id: str,
        *,
        nonce: str | None = None,
        who: str = "",
    ) -> None:
        decoded = {k: decode(body.get(k)) for k in ("access_token", "id_token") if body.get(k)}
        checks: tuple[Check, ...] = ()
        if body.get("id_token"):
            checks = await check_id_token(self, str(body["id_token"]), reg.client_id, nonce, body)
        session.tokens = {**body, "received_at": time.time()}
        session.token_client, session.flow_id, session.decoded = reg.client_id, flow_id, decoded
        failed = [c for c in checks if c.outcome == "fail"]
        self.emit(
            "token.received",
            flow_id,
            channel="back",
            source="authorization_server",
            target="client",
            summary=(who or "The client")
            + " now holds: "
            + ", ".join(k for k in ("access_token", "refresh_token", "id_token") if body.get(k)),
            checks=checks,
            data={
                "decoded": decoded,
                "scope": body.get("scope"),
                "expires_in": body.get("expires_in"),
                "client_id": reg.client_id,
            },
            error="invalid_id_token" if failed else None,
        )

    async def refresh(self, session: Session) -> str:
        if not session.tokens or not session.tokens.get("refresh_token"):
            raise DemoError(
                "no refresh token: log in first (the client must be allowed to refresh)"
            )
        reg = self._registration_for(session.token_client)
        flow_id = new_flow_id()
        self.emit(
            "refresh.started",
            flow_id,
            channel="local",
            source="user",
            target="client",
            summary="Refresh the access token with the refresh token",
            data={"kind": "refresh", "client_id": reg.client_id, "previous_flow": session.flow_id},
        )
        form = {
            "grant_type": "refresh_token",
            "refresh_token": str(session.tokens["refresh_token"]),
        }
        r, body = await self.token_request(reg, form, flow_id)
        if r.status_code != 200:
            session.tokens = None
            raise DemoError(f"{body.get('error')}: {body.get('error_description', '')}")
        await self.receive_tokens(session, reg, body, flow_id)
        return flow_id

    def _registration_for(self, client_id: str | None) -> ClientRegistration:
        for reg in (
            self.config.legacy,
            self.config.public,
            self.config.confidential,
            self.config.public_no_pkce,
            self.config.service,
        ):
            if reg is not None and reg.client_id == client_id:
                return reg
        raise DemoError("unknown client for these tokens")

    async def client_credentials(self, session: Session) -> str:
        reg = self.config.service
        flow_id = new_flow_id()
        self.emit(
            "client_credentials.started",
            flow_id,
            channel="local",
            source="client",
            target="client",
            summary=f"{reg.client_id} asks for a token for itself (no user)",
            data={"kind": "client_credentials", "client_id": reg.client_id},
        )
        form = {"grant_type": "client_credentials", "scope": "read:files"}
        r, body = await self.token_request(reg, form, flow_id)
        if r.status_code != 200:
            raise DemoError(f"{body.get('error')}: {body.get('error_description', '')}")
        await self.receive_tokens(session, reg, body, flow_id)
        await self.call_api(session, "GET", "/api/files")
        return flow_id

    async def password_grant(self, session: Session) -> str:
        """The deprecated resource owner password grant: the client handles the user's password."""
        reg = self.config.legacy
        if reg is None:
            raise DemoError("the password grant is not enabled on this server")
        flow_id = new_flow_id()
        username, password = self.config.victim
        self.emit(
            "password.collected",
            flow_id,
            channel="front",
            source="user",
            target="client",
            summary="The user types their password into the client itself (deprecated)",
            data={"kind": "legacy", "client_id": reg.client_id, "username": username},
        )
        form = {"grant_type": "password", "username": username, "password": password}
        form["scope"] = "read:profile read:files"
        r, body = await self.token_request(reg, form, flow_id)
        if r.status_code != 200:
            raise DemoError(f"{body.get('error')}: {body.get('error_description', '')}")
        await self.receive_tokens(session, reg, body, flow_id)
        await self.call_api(session, "GET", "/api/profile")
        return flow_id

    async def call_api(self, session: Session, method: str, path: str) -> dict[str, Any]:
        token = (session.tokens or {}).get("access_token")
        if not token:
            raise DemoError("no access token: log in first")
        flow_id = session.flow_id or new_flow_id()
        url = self.config.resource_url.rstrip("/") + path
        headers = {"Authorization": f"Bearer {token}", FLOW_HEADER: flow_id}
        body = {"name": "note.txt", "content": "hello from the demo client"}
        try:
            r = await self.http.request(
                method, url, headers=headers, json=body if method == "POST" else None
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
        meta = await self.metadata()
        endpoint = meta.get("userinfo_endpoint")
        token = (session.tokens or {}).get("access_token")
        if not endpoint or not token or not session.flow_id:
            return
        r = await self.http.get(
            str(endpoint),
            headers={"Authorization": f"Bearer {token}", FLOW_HEADER: session.flow_id},
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
