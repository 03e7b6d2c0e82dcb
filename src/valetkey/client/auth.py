"""An ``httpx.Auth`` that attaches a token and keeps it fresh; sync and async clients alike.

``auth_flow`` is a generator with no I/O of its own: httpx sends what it yields (RFC 6750 §2.1, §2.3).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Generator
from typing import Literal

import httpx

from valetkey.client import grants
from valetkey.client.config import ClientConfig
from valetkey.client.errors import ConfigError
from valetkey.client.tokens import TokenSet

Placement = Literal["header", "query"]
TokenType = Literal["access", "id"]
_INVALID_TOKEN = re.compile(r'\berror\s*=\s*"?invalid_token"?', re.IGNORECASE)


def invalid_token_challenge(response: httpx.Response) -> bool:
    """RFC 6750 §3.1: a 401 whose WWW-Authenticate says error="invalid_token"."""
    if response.status_code != 401:
        return False
    challenges = response.headers.get_list("www-authenticate")
    return any(_INVALID_TOKEN.search(c) for c in challenges)


class TokenAuth(httpx.Auth):
    """Attach ``tokens``; refresh ``leeway`` seconds before expiry and once on a 401 invalid_token.

    ``on_refresh`` receives every new :class:`TokenSet` (with a rotated refresh token) to save it.
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
    ) -> None:
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

    def refresh_flow(self) -> Generator[httpx.Request, httpx.Response, None]:
        assert self.config is not None
        new = yield from grants.refresh(self.config, self.tokens, self.clock())
        self.tokens = new
        self.refreshes += 1
        if self.on_refresh:
            self.on_refresh(new)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        original_url = request.url
        if self.can_refresh and self.tokens.expires_within(self.leeway, self.clock()):
            yield from self.refresh_flow()
        self.attach(request)
        response = yield request
        if self.can_refresh and invalid_token_challenge(response):
            yield from self.refresh_flow()
            request.url = original_url
            self.attach(request)
            yield request
