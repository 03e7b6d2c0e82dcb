"""uvicorn's httptools protocol with each response's header block and body sent in one write.

uvicorn writes the header block when the app sends ``http.response.start`` and the body on
``http.response.body``; on an idle connection uvloop sends each at once: two system calls and two
TCP segments per response. Here the header block waits for the body (which the app sends in the
same step) and both leave in one write; if no body write follows in this loop iteration (HEAD, an
app that stops), the header block is flushed on the next one. Close flushes first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from starlette.responses import Response
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol


class CoalescingTransport:
    __slots__ = ("_held", "_loop", "_transport", "is_closing")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None
        # Asked twice per answer: the transport's own, not through ``__getattr__`` or a method here.
        self.is_closing: Callable[[], bool] = transport.is_closing

    def write(self, data: bytes) -> None:
        held = self._held
        if held is not None:
            self._held = None
            self._transport.write(held + data)
        elif data.startswith(b"HTTP/1.1 ") and data.endswith(b"\r\n\r\n"):
            self._held = data
            self._loop.call_soon(self.flush)
        else:
            self._transport.write(data)

    def write_now(self, data: bytes) -> None:
        """A whole response: sent at once, after any header block still held (order is kept)."""
        held, self._held = self._held, None
        self._transport.write(data if held is None else held + data)

    def flush(self) -> None:
        held, self._held = self._held, None
        if held is not None and not self._transport.is_closing():
            self._transport.write(held)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._held = None
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        wrapped: Any = CoalescingTransport(transport, self.loop)
        super().connection_made(wrapped)


_FIELD = b"%s: %s\r\n".__mod__  # one header field, ``name: value``, formatted in C
_END = b"\r\n"
_CLOSE_END = b"connection: close\r\n\r\n"


def encode(response: Response, default_headers: list[tuple[bytes, bytes]], close: bool) -> bytes:
    """A whole HTTP/1.1 response held in memory, in one piece (``Connection: close`` if asked)."""
    return b"".join(
        (
            STATUS_LINE[response.status_code],
            *map(_FIELD, default_headers),
            *map(_FIELD, response.raw_headers),
            _CLOSE_END if close else _END,
            bytes(response.body),
        )
    )
