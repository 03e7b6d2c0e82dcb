"""Call an ASGI app with exactly the bytes a test chose: no client library cleans them up first.

The scope is the one uvicorn builds (``path`` percent-decoded, ``raw_path``, ``query_string`` and
headers as raw bytes, names lower-cased). An exception that escapes the app is caught and reported
as what a real server sends then: uvicorn's plain-text ``500 Internal Server Error`` (or, when the
response had started, a connection closed mid-answer), so the oracle judges it like any answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp

from tests.support.hostile import Answer


@dataclass
class RawRequest:
    method: str
    path: bytes  # raw, percent-encoded as on the wire
    query: bytes = b""
    headers: Sequence[tuple[bytes, bytes]] = ()
    body: bytes = b""

    def __repr__(self) -> str:  # short enough for an assertion message
        head = f"{self.method} {self.path!r}" + (f"?{self.query[:200]!r}" if self.query else "")
        return f"<{head} headers={list(self.headers)!r:.300} body={self.body[:300]!r}>"


class AsgiCaller:
    """Runs requests against ``app`` on one private event loop (close it when done)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        self.escaped: list[BaseException] = []  # exceptions that left the app, for the report

    def __call__(self, request: RawRequest) -> Answer:
        return self.loop.run_until_complete(self._call(request))

    async def _call(self, request: RawRequest) -> Answer:
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": "http",
            "path": unquote_to_bytes(request.path).decode("utf-8", "surrogateescape"),
            "raw_path": request.path,
            "root_path": "",
            "query_string": request.query,
            "headers": [(k.lower(), v) for k, v in request.headers],
            "client": ("127.0.0.1", 50000),
            "server": ("as.test", 80),
            "state": {},
        }
        sent: list[dict[str, Any]] = []
        delivered = False

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if delivered:
                await asyncio.sleep(3600)  # a real client waits; the app must not read twice
            delivered = True
            return {"type": "http.request", "body": request.body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        try:
            await self.app(scope, receive, send)  # type: ignore[arg-type]
        except Exception as exc:
            self.escaped.append(exc)
            if not any(m["type"] == "http.response.start" for m in sent):
                return Answer(500, [("content-type", "text/plain")], b"Internal Server Error")
            if sent[-1]["type"] != "http.response.body" or sent[-1].get("more_body"):
                # uvicorn closes the connection: the client never sees the end of the answer.
                return Answer(599, [], b"(connection closed mid-answer)")
        return _answer(sent)


def _answer(sent: list[dict[str, Any]]) -> Answer:
    start = next((m for m in sent if m["type"] == "http.response.start"), None)
    if start is None:
        return Answer(599, [], b"(no answer at all)")
    headers = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in start["headers"]]
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return Answer(start["status"], headers, body)
