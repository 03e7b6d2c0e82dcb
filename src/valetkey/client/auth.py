"""An ``httpx.Auth`` that attaches a token and keeps it fresh; sync and async clients alike.

``auth_flow`` is a generator with no I/O of its own: httpx sends what it yields (RFC 6750 §2.1, §2.3).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import AsyncGenerator, Callable, Generator
from typing import Literal

import anyio
import httpx

from valetkey.client import grants
from valetkey.client.config import ClientConfig
from valetkey.client.dpop import DPoPAuth, DPoPSession, with_dpop
from valetkey.client.errors import ConfigError
from valetkey.client.tokens import TokenSet
from valetkey.core.challenge import bearer_error

Placement = Literal["header", "query"]
TokenType = Literal["access", "id"]
Flow = Generator[httpx.Request, httpx.Response, None]


def invalid_token_challenge(response: httpx.Response) -> bool:
    """RFC 6750 §3.1: a 401 whose WWW-Authenticate says error="invalid_token" (in the Bearer
    challenge, or the DPoP one for a DPoP token: RFC 9449 §7.1)."""
    if response.status_code != 401:
        return False
    values = response.headers.get_list("www-authenticate")
    return "invalid_token" in (bearer_error(values), bearer_error(values, "dpop"))


class TokenAuth(httpx.Auth):
    """Attach ``tokens``; refresh ``leeway`` seconds before expiry and once on a 401 invalid_token.

    ``on_refresh`` receives every new :class:`TokenSet` (with a rotated refresh token) to save it.
    With ``dpop`` (RFC 9449) the token goes as ``Authorization: DPoP``, every request (refreshes
    included) carries a proof of the session's key, and a ``use_dpop_nonce`` challenge is answered
    by sending the request once more with the server's nonce.
    """

    requires_response_body = True

    def __init__(
        self,
        tokens: TokenSet,
        config: ClientConfig | None = None,
        *,
        placement: Placement = "header",
        header_prefix: str = "Bearer",
        query_name: str = "access_token",
        token_type: TokenType = "access",
        leeway: float = 30.0,
        on_refresh: Callable[[TokenSet], None] | None = None,
        clock: Callable[[], float] = time.time,
        dpop: DPoPSession | None = None,
    ) -> None:
        self.dpop = dpop
        if dpop is not None and header_prefix.lower() == "bearer":
            header_prefix = "DPoP"  # RFC 9449 §7.1
        self.tokens = tokens
        self.config = config
        self.placement = placement
        self.header_prefix = header_prefix
        self.query_name = query_name
        self.token_type = token_type
        self.leeway = leeway
        self.on_refresh = on_refresh
        self.clock = clock
        self.refreshes = 0
        self._lock = threading.Lock()
        self._alock = anyio.Lock()

    @property
    def can_refresh(self) -> bool:
        return self.config is not None and bool(self.tokens.refresh_token)

    def attach(self, request: httpx.Request) -> None:
        token = self.tokens.access_token if self.token_type == "access" else self.tokens.id_token
        if token is None:
            raise ConfigError("this token set has no ID token; use the access token instead")
        if self.placement == "query":
            # RFC 6750 §2.3: the URI query parameter (discouraged, offered where an API needs it).
            request.url = request.url.copy_add_param(self.query_name, token)
        else:
            prefix = f"{self.header_prefix} " if self.header_prefix else ""
            request.headers["Authorization"] = prefix + token

    def refresh_flow(self) -> Flow:
        assert self.config is not None
        # Inside an httpx auth flow, the refresh requests get their proofs from the outer wrapper.
        new = yield from grants.refresh(self.config, self.tokens, self.clock())
        self.tokens = new
        self.refreshes += 1
        if self.on_refresh:
            self.on_refresh(new)

    def _due(self) -> bool:
        return self.can_refresh and self.tokens.expires_within(self.leeway, self.clock())

    def _stale(self, attempt: int, sent_with: TokenSet | None) -> TokenSet | None:
        """The token set to replace before this attempt: an expiring one, or one refused by a 401."""
        if attempt == 0:
            return self.tokens if self._due() else None
        return sent_with

    def _refresh_unless_replaced(self, stale: TokenSet) -> Flow:
        """Single flight: skip when a concurrent request already replaced ``stale``."""
        if self.tokens is stale:
            yield from self.refresh_flow()

    def auth_flow(self, request: httpx.Request) -> Flow:
        """The unlocked flow (httpx calls the locked variants below)."""
        yield from self._attempts(request, None)

    def _attempts(self, request: httpx.Request, lock: threading.Lock | None) -> Flow:
        original_url, sent_with = request.url, None
        for attempt in (0, 1):
            stale = self._stale(attempt, sent_with)
            if stale is not None:
                with lock or contextlib.nullcontext():
                    yield from self._refresh_unless_replaced(stale)
            sent_with = self.tokens
            request.url = original_url
            self.attach(request)
            response = yield request
            if not (self.can_refresh and invalid_token_challenge(response)):
                return

    def sync_auth_flow(self, request: httpx.Request) -> Flow:
        # Requests sharing this auth refresh once: a second use of a rotating refresh token
        # would look like theft to the server (RFC 9700 §4.14.2) and revoke the grant.
        flow = _drive(self._attempts(request, self._lock))
        yield from DPoPAuth(self.dpop).wrap_sync(flow) if self.dpop else flow

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        flow = self._async_attempts(request)
        if self.dpop:
            flow = DPoPAuth(self.dpop).wrap_async(flow)
        try:
            step = await flow.__anext__()
            while True:
                response = yield step
                step = await flow.asend(response)
        except StopAsyncIteration:
            return

    def proofs(self, flow: Flow) -> Flow:
        """``flow`` with DPoP proofs (for callers driving :meth:`refresh_flow` themselves)."""
        return with_dpop(flow, self.dpop) if self.dpop else flow

    async def _async_attempts(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        original_url, sent_with = request.url, None
        for attempt in (0, 1):
            stale = self._stale(attempt, sent_with)
            if stale is not None:
                async with self._alock:
                    flow = self._refresh_unless_replaced(stale)
                    try:
                        step = next(flow)
                        while True:
                            response = yield step
                            await response.aread()
                            step = flow.send(response)
                    except StopIteration:
                        pass
            sent_with = self.tokens
            request.url = original_url
            self.attach(request)
            response = yield request
            await response.aread()
            if not (self.can_refresh and invalid_token_challenge(response)):
                return


def _drive(flow: Flow) -> Flow:
    """Pass a flow's requests through, reading each response body before the flow sees it."""
    try:
        step = next(flow)
        while True:
            response = yield step
            response.read()
            step = flow.send(response)
    except StopIteration:
        return
