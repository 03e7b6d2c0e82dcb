"""A recording reverse proxy on a loopback port: stands in for the server, records what it receives.

Every request is recorded (method, path, query pairs, headers, body pairs) and forwarded to the real
server; ``transform`` may rewrite a JSON response (to forge an ID token, say).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

Transform = Callable[[str, dict[str, Any]], dict[str, Any]]


@dataclass
class Recorded:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: list[tuple[str, str]]
    form: list[tuple[str, str]]

    def header_values(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]


@dataclass
class Proxy:
    base: str
    target: str
    requests: list[Recorded] = field(default_factory=list)
    transform: Transform | None = None
    hold: float = 0.0  # seconds to hold each POST before forwarding (widens race windows)

    def to(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == path]


def _handler(proxy: Proxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return None

        def _forward(self) -> None:
            parts = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            proxy.requests.append(
                Recorded(
                    self.command,
                    parts.path,
                    parse_qsl(parts.query, keep_blank_values=True),
                    list(self.headers.items()),
                    parse_qsl(body.decode(), keep_blank_values=True),
                )
            )
            if self.command == "POST" and proxy.hold:
                time.sleep(proxy.hold)
            headers = [
                (k, v)
                for k, v in self.headers.items()
                if k.lower() not in ("host", "content-length")
            ]
            upstream = httpx.request(
                self.command, proxy.target + self.path, headers=headers, content=body, timeout=10
            )
            content = upstream.content
            if proxy.transform and "json" in upstream.headers.get("content-type", ""):
                content = json.dumps(proxy.transform(parts.path, upstream.json())).encode()
            self.send_response(upstream.status_code)
            for k, v in upstream.headers.multi_items():
                if k.lower() not in (
                    "content-length",
                    "transfer-encoding",
                    "connection",
                    "content-encoding",
                ):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST = _forward

    return Handler


@contextmanager
def recording_proxy(
    target: str, transform: Transform | None = None, hold: float = 0.0
) -> Iterator[Proxy]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    proxy = Proxy(
        f"http://127.0.0.1:{server.server_address[1]}", target, transform=transform, hold=hold
    )
    server.RequestHandlerClass = _handler(proxy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        server.shutdown()
        server.server_close()
