"""A trial: valetkey's runtime behind Granian's RSGI interface instead of uvicorn's protocol.

    BENCH_CONFIG=valetkey.toml BENCH_ISSUER=http://127.0.0.1:PORT \
        granian --interface rsgi --factory --port PORT bench.granian_app:make

Granian parses HTTP in Rust and hands each request to Python as a coroutine. Hot routes run the
same ``Runtime.answer`` as every other path; their rows are committed together with those of the
other requests of the event-loop step (a future per request, resolved after the commit) before the
answer is sent. Other routes run the runtime's ASGI app, adapted. Not part of valetkey: it exists
to compare the two protocols side by side (``python -m bench --granian``).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message

from valetkey.runtime import Route, Runtime


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


class RSGIApp:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.waiting: list[tuple[Sequence[Any], asyncio.Future[None]]] = []

    async def __rsgi__(self, scope: Any, proto: Any) -> None:
        runtime = self.runtime
        host, _, port = scope.client.rpartition(":")
        asgi: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": scope.http_version,
            "method": scope.method,
            "scheme": scope.scheme,
            "path": scope.path,
            "raw_path": scope.path.encode("latin-1"),
            "query_string": scope.query_string.encode("latin-1"),
            "root_path": "",
            "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in scope.headers.items()],
            "client": (host, int(port or 0)),
            "server": None,
            "app": runtime.app,
        }
        body = await proto()
        route = runtime.table.hot.get((scope.method, scope.path))
        if route is None:
            await self._asgi(asgi, body, proto)
            return
        request = Request(asgi, _no_receive)
        request._body = body
        response, rows = await runtime.answer(route, request)
        if rows:
            response = await self._commit(rows, route, request) or response
        _send(proto, response)

    async def _commit(self, rows: Sequence[Any], route: Route, request: Request) -> Response | None:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        if not self.waiting:
            loop.call_soon(self._flush)
        self.waiting.append((rows, done))
        try:
            await done
        except Exception as exc:
            return self.runtime.failed(route.page, request, exc)
        return None

    def _flush(self) -> None:
        waiting, self.waiting = self.waiting, []
        try:
            self.runtime.write_rows([row for rows, _ in waiting for row in rows])
        except Exception:
            for rows, done in waiting:  # each alone
                try:
                    self.runtime.write_rows(rows)
                except Exception as exc:
                    done.set_exception(exc)
                else:
                    done.set_result(None)
            return
        for _, done in waiting:
            done.set_result(None)

    async def _asgi(self, scope: dict[str, Any], body: bytes, proto: Any) -> None:
        sent: dict[str, Any] = {"headers": [], "body": b""}

        async def receive() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                sent["status"], sent["headers"] = message["status"], message.get("headers", [])
            else:
                sent["body"] += message.get("body", b"")

        await self.runtime(scope, receive, send)
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in sent["headers"]]
        proto.response_bytes(sent["status"], headers, sent["body"])


def _send(proto: Any, response: Response) -> None:
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.raw_headers]
    proto.response_bytes(response.status_code, headers, bytes(response.body))


def make() -> RSGIApp:
    from valetkey.asgi import create_app
    from valetkey.cli.config import load_settings
    from valetkey.server.bootstrap import build_state

    settings = load_settings(os.environ["BENCH_CONFIG"]).with_issuer(os.environ["BENCH_ISSUER"])
    return RSGIApp(create_app(build_state(settings)))
