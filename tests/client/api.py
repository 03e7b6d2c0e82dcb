"""A tiny protected API on a loopback port: verifies access tokens against the server's JWKS.

It answers 401 with ``error="invalid_token"`` (RFC 6750 §3.1) for a bad signature, an expired
token or a token the test marked as revoked, and records the Authorization header it saw.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import httpx

from valetkey.core import jose


@dataclass
class Api:
    base: str
    jwks: dict[str, object]
    revoked: set[str] = field(default_factory=set)
    seen: list[tuple[str | None, str | None]] = field(default_factory=list)  # (header, query token)

    def check(self, token: str | None) -> tuple[int, dict[str, object]]:
        if not token:
            return 401, {}
        if token in self.revoked:
            return 401, {"error": "invalid_token"}
        try:
            _h, claims = jose.verify(token, self.jwks)
        except jose.TokenInvalid:
            return 401, {"error": "invalid_token"}
        if claims.get("exp", 0) < time.time():
            return 401, {"error": "invalid_token"}
        return 200, {"sub": claims.get("sub"), "scope": claims.get("scope")}


def _handler(api: Api) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return None

        def do_GET(self) -> None:
            header = self.headers.get("Authorization")
            query = dict(parse_qsl(urlsplit(self.path).query)).get("access_token")
            api.seen.append((header, query))
            token = query
            if header:
                scheme, _, value = header.partition(" ")
                token = value if scheme in ("Bearer", "DPoP", "Token") else None
            status, body = api.check(token)
            payload = json.dumps(body).encode()
            self.send_response(status)
            if status == 401:
                error = f', error="{body["error"]}"' if "error" in body else ""
                self.send_header("WWW-Authenticate", f'Bearer realm="api"{error}')
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


@contextmanager
def protected_api(issuer: str) -> Iterator[Api]:
    jwks = httpx.get(f"{issuer}/jwks.json").json()
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    api = Api(f"http://127.0.0.1:{server.server_address[1]}", jwks)
    server.RequestHandlerClass = _handler(api)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
