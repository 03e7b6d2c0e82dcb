"""The demo client's OAuth steps, run by the client library we ship (``valetkey.client``).

The sans-I/O grants run on the demo's ``httpx.AsyncClient``; every rule (state, iss, PKCE, the ID
token, discovery's issuer check) is the library's. This module adds what the demo teaches with:
its own events, with the flow ids the server derives, and ``X-Valetkey-Flow`` on back-channel calls.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

import httpx

from valetkey.client import (
    ClientConfig,
    ClientError,
    Endpoints,
    IdTokenInvalid,
    PendingAuthorization,
    Skip,
    TokenSet,
    arun,
    discover,
    grants,
    start,
    with_headers,
)
from valetkey.client.dpop import DPoPSession, bound_tokens
from valetkey.client.io import Flow
from valetkey.core.clock import Clock
from valetkey.core.events import Check, Emitter
from valetkey.core.flows import FLOW_HEADER, authorization_flow_id, new_flow_id
from valetkey.core.secrets import new_token
from valetkey.demo.config import ClientRegistration, DemoClientConfig
from valetkey.demo.events import decode, expires_in
from valetkey.demo.session import Pending, Session

BASE_SCOPE = "read:profile read:files write:files"
T = TypeVar("T")


class DemoError(Exception):
    """A step failed; the message is shown to the user of the demo."""


class DemoOAuth:
    def __init__(
        self, config: DemoClientConfig, emit: Emitter, http: httpx.AsyncClient, clock: Clock
    ) -> None:
        self.config, self.emit, self.http, self.clock = config, emit, http, clock
        self._endpoints: Endpoints | None = None

    async def endpoints(self) -> Endpoints:
        """RFC 8414 discovery through the library, which checks the metadata names our issuer."""
        if self._endpoints is None:
            self._endpoints = await arun(discover(self.config.issuer), self.http)
        return self._endpoints

    async def client_for(self, reg: ClientRegistration, scope: str | None) -> ClientConfig:
        return ClientConfig(
            reg.client_id,
            await self.endpoints(),
            client_secret=reg.secret,
            scope=scope,
            redirect_uri=self.config.redirect_uri,
        )

    async def run(self, flow: Flow[T], flow_id: str) -> T:
        """Run a library flow, naming our flow on every back-channel request it sends."""
        return await arun(with_headers(flow, {FLOW_HEADER: flow_id}), self.http)

    async def prepare(self, mode: str, openid: bool) -> Pending:
        """A login's authorization request: PKCE, state and nonce from the library."""
        reg = self.config.registration(mode)
        scope = ("openid profile email " if openid else "") + BASE_SCOPE
        client = await self.client_for(reg, scope)
        # INSECURE demo registration: PKCE is skipped by name, and the skip is recorded.
        skip = (Skip("pkce", f"INSECURE demo client: {reg.insecure}"),) if reg.insecure else ()
        request = start(
            client,
            self.config.redirect_uri,
            pkce_method="S256" if reg.pkce else None,
            skip=skip,
        )
        flow_id = authorization_flow_id(
            reg.client_id,
            self.config.redirect_uri,
            request.state,
            request.code_challenge,
            request.nonce,
        )
        return Pending(request, flow_id, mode, client)

    async def unsolicited(self, mode: str, flow_id: str) -> Pending:
        """What the client holds for a callback this browser never asked for: nothing that can
        match (a fresh state), and its own redirect URI and registration to redeem a code with."""
        reg = self.config.registration(mode)
        if mode == "implicit":
            request = PendingAuthorization(
                "", new_token(16), self.config.implicit_redirect_uri, "token"
            )
        else:
            request = PendingAuthorization("", new_token(16), self.config.redirect_uri, "code")
        return Pending(request, flow_id, mode, await self.client_for(reg, None))

    async def redeem(
        self, session: Session, pending: Pending, callback: dict[str, str], skip: Iterable[Skip]
    ) -> None:
        flow = grants.authorization_code(
            pending.client, pending.request, callback, self.clock.now(), skip=skip
        )
        if pending.dpop is not None:  # RFC 9449 §5: a proof with the request, a bound token back
            flow = bound_tokens(flow, pending.dpop)
        tokens = await self.obtain(flow, pending.client, pending.flow_id)
        self.receive_tokens(session, pending.client, tokens, pending.flow_id, dpop=pending.dpop)

    async def obtain(
        self, flow: Flow[TokenSet], client: ClientConfig, flow_id: str, who: str = "The client"
    ) -> TokenSet:
        """Run a grant; what the library refuses becomes a :class:`DemoError` (and an event)."""
        try:
            return await self.run(flow, flow_id)
        except IdTokenInvalid as exc:
            summary = f"{who} refuses the tokens: the ID token failed a check"
            data = {"client_id": client.client_id}
            self._received(flow_id, summary, exc.checks, data, "invalid_id_token")
            raise DemoError(f"the ID token was refused: {exc}") from exc
        except ClientError as exc:
            raise DemoError(str(exc)) from exc

    def receive_tokens(
        self,
        session: Session,
        client: ClientConfig,
        tokens: TokenSet,
        flow_id: str,
        who: str = "The client",
        dpop: DPoPSession | None = None,
    ) -> None:
        held = {
            "access_token": tokens.access_token,
            "refresh_token": tokens.refresh_token,
            "id_token": tokens.id_token,
        }
        decoded = {k: decode(held[k]) for k in ("access_token", "id_token") if held[k]}
        session.tokens, session.token_client = tokens, client.client_id
        session.flow_id, session.decoded, session.dpop = flow_id, decoded, dpop
        summary = f"{who} now holds: " + ", ".join(k for k, v in held.items() if v)
        data = {
            "decoded": decoded,
            "scope": tokens.scope,
            "token_type": tokens.token_type,
            "expires_in": expires_in(tokens),
            "client_id": client.client_id,
        }
        self._received(flow_id, summary, tokens.checks, data)

    def _received(
        self,
        flow_id: str,
        summary: str,
        checks: tuple[Check, ...],
        data: dict[str, Any],
        error: str | None = None,
    ) -> None:
        self.emit(
            "token.received",
            flow_id,
            channel="back",
            source="authorization_server",
            target="client",
            summary=summary,
            checks=checks,
            data=data,
            error=error,
        )

    async def refresh(self, session: Session) -> str:
        tokens = session.tokens
        reg = self.config.registration_for(session.token_client)
        if tokens is None or not tokens.refresh_token:
            raise DemoError(
                "no refresh token: log in first (the client must be allowed to refresh)"
            )
        if reg is None:
            raise DemoError("unknown client for these tokens")
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
        client = await self.client_for(reg, tokens.scope)
        flow, dpop = grants.refresh(client, tokens, self.clock.now()), session.dpop
        if dpop is not None:  # a public client's refresh token is bound to its key (RFC 9449 §5)
            flow = bound_tokens(flow, dpop)
        try:
            new = await self.obtain(flow, client, flow_id)
        except DemoError:
            session.tokens = None
            raise
        self.receive_tokens(session, client, new, flow_id, dpop=dpop)
        return flow_id

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
        client = await self.client_for(reg, "read:files")
        flow = grants.client_credentials(client, self.clock.now())
        self.receive_tokens(session, client, await self.obtain(flow, client, flow_id), flow_id)
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
        client = await self.client_for(reg, "read:profile read:files")
        flow = grants.password(client, username, password, self.clock.now())
        self.receive_tokens(session, client, await self.obtain(flow, client, flow_id), flow_id)
        return flow_id
