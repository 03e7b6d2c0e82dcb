"""Per-route scope requirements: ``requires_scopes`` for Starlette, ``RequireScopes`` for FastAPI."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Protocol

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

from valetkey.core.bearer import TOKEN_REQUIRED, NoCredentials
from valetkey.core.errors import InsufficientScope
from valetkey.resource.refusal import Refusal
from valetkey.resource.token import AccessToken

Endpoint = Callable[[Request], Awaitable[Response] | Response]


class ScopeChallenge(Exception):
    """A route's requirement was not met: no token (401) or too few scopes (403)."""

    rule = "scope_granted"
    spec = "RFC 6750 §3.1"

    def __init__(self, scopes: tuple[str, ...]) -> None:
        super().__init__(" ".join(scopes))
        self.scopes = scopes

    def refusal(
        self, token: AccessToken | None, missing: NoCredentials | None = None
    ) -> InsufficientScope | NoCredentials:
        """RFC 6750 §3.1: no token -> 401 without an error code; too few scopes -> 403."""
        if token is None:
            return missing or NoCredentials(TOKEN_REQUIRED)
        lacking = " ".join(s for s in self.scopes if s not in token.scope)
        return InsufficientScope(
            f"the access token lacks the scope this request needs: {lacking}",
            rule=self.rule,
            spec=self.spec,
        )


class ScopeGuard(Protocol):
    """What answers a route's unmet scope requirement: the BearerAuth middleware in front."""

    def refuse_scope(self, scope: Scope, exc: ScopeChallenge) -> Refusal: ...


def _guard(request: Request) -> ScopeGuard:
    guard = request.scope.get("valetkey.guard")
    if guard is None:
        raise RuntimeError("scope requirements need the BearerAuth middleware in front of the app")
    return guard  # type: ignore[no-any-return]


def check(request: Request, scopes: tuple[str, ...]) -> AccessToken:
    """The request's token if it carries every scope; raises ScopeChallenge otherwise."""
    _guard(request)
    token = request.scope.get("valetkey.token")
    if not isinstance(token, AccessToken) or not token.has_scopes(*scopes):
        raise ScopeChallenge(scopes)
    return token


def requires_scopes(*scopes: str) -> Callable[[Endpoint], Callable[[Request], Awaitable[Response]]]:
    """Decorate a Starlette endpoint; the token is at ``request.state.access_token``."""

    def decorate(endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(endpoint)
        async def wrapper(request: Request) -> Response:
            try:
                check(request, scopes)
            except ScopeChallenge as exc:
                status, headers, body = _guard(request).refuse_scope(request.scope, exc).parts()
                return Response(body, status, {k.decode(): v.decode("latin-1") for k, v in headers})
            if inspect.iscoroutinefunction(endpoint):
                return await endpoint(request)  # type: ignore[no-any-return]
            return await run_in_threadpool(endpoint, request)  # type: ignore[arg-type]

        return wrapper

    return decorate


class RequireScopes:
    """FastAPI dependency: ``token: AccessToken = Depends(RequireScopes("read:files"))``.

    The BearerAuth middleware must be added with ``app.add_middleware`` so that it answers the
    401/403 this dependency raises.
    """

    def __init__(self, *scopes: str) -> None:
        self.scopes = scopes

    def __call__(self, request: Request) -> AccessToken:
        return check(request, self.scopes)
