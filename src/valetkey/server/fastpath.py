"""A lean ASGI path for the hottest endpoints (token, introspection, the authorization request and
its sign-in and consent forms).

Requests with an exact method and path go straight to their endpoint, past Starlette's middleware
stack and router; everything else, and any other method on these paths, takes the normal route.
The endpoint runs the same code either way, and ``NeverLeak`` (outside) still turns an unexpected
exception into a plain ``server_error``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

Endpoint = Callable[[Request], Awaitable[Response]]


class FastPath:
    def __init__(self, app: Starlette, routes: Mapping[tuple[str, str], Endpoint]) -> None:
        self.app = app
        self.routes = dict(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            endpoint = self.routes.get((scope["method"], scope["path"]))
            if endpoint is not None:
                scope["app"] = self.app  # endpoints find their state at request.app.state
                response = await endpoint(Request(scope, receive, send))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
