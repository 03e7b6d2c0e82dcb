"""A small fake RFC 7591 registration endpoint (the authorization server has none yet).

It checks a request the way a registration endpoint would (JSON object, redirect URIs, the initial
access token when one is required), records it, and answers 201 with the client it assigns. Run it
in process (``handle`` as an ``httpx.MockTransport`` handler) or on a loopback port (``serving``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx


@dataclass
class Registrar:
    client_id: str = "dcr-client"  # what it assigns
    client_secret: str | None = None  # with a secret, it registers client_secret_basic
    initial_access_token: str | None = None
    drop_redirects: bool = False  # replace the redirect URIs asked for (RFC 7591 §3.2.1 allows it)
    received: list[tuple[dict[str, str], Any]] = field(default_factory=list)

    def answer(self, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, Any]]:
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        self.received.append((headers, body))
        if self.initial_access_token and headers.get("authorization") != (
            f"Bearer {self.initial_access_token}"
        ):
            return 401, {"error": "invalid_token", "error_description": "initial access token"}
        if headers.get("content-type", "").split(";")[0] != "application/json" or not isinstance(
            body, dict
        ):
            return 400, {"error": "invalid_client_metadata", "error_description": "send JSON"}
        uris = body.get("redirect_uris")
        if not uris or any(not u.startswith(("https://", "http://127.0.0.1")) for u in uris):
            return 400, {
                "error": "invalid_redirect_uri",
                "error_description": "redirect URIs must be https or loopback",
            }
        out = {**body, "client_id": self.client_id, "client_id_issued_at": 1700000000}
        if self.drop_redirects:
            out["redirect_uris"] = ["https://elsewhere.example/cb"]
        if self.client_secret:
            out.update(
                client_secret=self.client_secret,
                client_secret_expires_at=0,
                token_endpoint_auth_method="client_secret_basic",
            )
        return 201, out

    def handle(self, request: httpx.Request) -> httpx.Response:
        status, body = self.answer(
            {k.lower(): v for k, v in request.headers.items()}, request.content
        )
        return httpx.Response(status, json=body)


@contextmanager
def on_loopback(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """``handler`` on a loopback port, in a thread; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class QuietHandler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return None

    def answer(self, status: int, headers: dict[str, str], body: bytes = b"") -> None:
        self.send_response(status)
        for name, value in {**headers, "Content-Length": str(len(body))}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def serving(registrar: Registrar) -> Iterator[str]:
    """The registrar on a loopback port; yields its registration endpoint URL."""

    class Handler(QuietHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, body = registrar.answer(headers, raw)
            self.answer(status, {"Content-Type": "application/json"}, json.dumps(body).encode())

    with on_loopback(Handler) as base:
        yield f"{base}/register"
