"""One HTTP exchange of the client, as an event's :class:`HttpExchange`, with every secret masked
(``core.events.redact`` on headers, form fields and JSON members; ``redaction.redact_url`` on
URLs)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

import httpx

from valetkey.client.redaction import redact_url
from valetkey.core.events import HttpExchange, redact

_NOISE = frozenset({"host", "accept-encoding", "connection", "user-agent", "content-length"})
_RESPONSE_HEADERS = frozenset(
    {"content-type", "cache-control", "location", "www-authenticate", "dpop-nonce"}
)


def form_of(request: httpx.Request) -> dict[str, str]:
    """The request's form fields (the last of a repeated name), unredacted: for reading only."""
    if "x-www-form-urlencoded" not in request.headers.get("content-type", ""):
        return {}
    return dict(parse_qsl(request.content.decode("utf-8", "replace"), keep_blank_values=True))


def json_of(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content or b"null")
    except ValueError:
        return None


def _body(response: httpx.Response) -> Any:
    body = json_of(response)
    if isinstance(body, dict):
        return redact(body)
    if body is not None:
        return body
    return response.content.decode("utf-8", "replace")[:2000] or None


def exchange(request: httpx.Request, response: httpx.Response | None = None) -> HttpExchange:
    headers = {k: v for k, v in request.headers.items() if k.lower() not in _NOISE}
    if response is None:
        return HttpExchange(
            request.method, redact_url(str(request.url)), redact(headers), redact(form_of(request))
        )
    kept = {k: v for k, v in response.headers.items() if k.lower() in _RESPONSE_HEADERS}
    if "location" in kept:
        kept["location"] = redact_url(kept["location"])
    return HttpExchange(
        method=request.method,
        url=redact_url(str(request.url)),
        request_headers=redact(headers),
        request_body=redact(form_of(request)),
        status=response.status_code,
        response_headers=redact(kept),
        response_body=_body(response),
    )
