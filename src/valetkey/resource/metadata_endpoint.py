"""Serving the RFC 9728 document in front of any ASGI app: GET and HEAD, no token, cacheable."""

from __future__ import annotations

import json

from starlette.types import Scope, Send

from valetkey.core.errors import InvalidRequest
from valetkey.resource.metadata import MetadataResponse

ALLOWED = ("GET", "HEAD")
WRONG_METHOD = InvalidRequest(
    "the protected resource metadata is read with GET or HEAD",
    rule="metadata_method",
    spec="RFC 9728 §3.1",
)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


async def serve(scope: Scope, send: Send, served: MetadataResponse) -> InvalidRequest | None:
    """Answer one request for the document; return the refusal when the method is not allowed.

    RFC 9728 §3.1: the document is read with GET (HEAD answers the same headers); it is public, so
    no token is asked for and a token sent along is ignored.
    """
    method = scope.get("method", "GET")
    if method not in ALLOWED:
        body = json.dumps(WRONG_METHOD.body()).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"allow", ", ".join(ALLOWED).encode()),
        ]
        await send({"type": "http.response.start", "status": 405, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return WRONG_METHOD
    if served.not_modified(_header(scope, b"if-none-match")):
        # RFC 9110 §15.4.5: a 304 carries the validators and caching headers, no body.
        headers = [h for h in served.headers(with_length=False) if h[0] != b"content-type"]
        await send({"type": "http.response.start", "status": 304, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
        return None
    await send({"type": "http.response.start", "status": 200, "headers": served.headers()})
    await send({"type": "http.response.body", "body": b"" if method == "HEAD" else served.body})
    return None
