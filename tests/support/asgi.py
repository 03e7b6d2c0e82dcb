"""A synchronous httpx transport over ``httpx.ASGITransport``: in-process tests share the sync helpers
used against real processes."""

from __future__ import annotations

import asyncio

import httpx
from starlette.types import ASGIApp


class SyncASGITransport(httpx.BaseTransport):
    def __init__(self, app: ASGIApp, client: tuple[str, int] = ("127.0.0.1", 123)) -> None:
        """``client``: the caller's address and port, as the app sees them."""
        self._inner = httpx.ASGITransport(app=app, client=client)  # type: ignore[arg-type]
        self._loop = asyncio.new_event_loop()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def run() -> httpx.Response:
            response = await self._inner.handle_async_request(request)
            body = await response.aread()
            return httpx.Response(
                response.status_code, headers=response.headers, content=body, request=request
            )

        return self._loop.run_until_complete(run())

    def close(self) -> None:
        self._loop.run_until_complete(self._loop.shutdown_default_executor())
        self._loop.close()
