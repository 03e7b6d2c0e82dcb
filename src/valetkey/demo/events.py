"""The demo client's own FlowEvents, with its HTTP exchanges redacted like the server's."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from valetkey.client import TokenSet
from valetkey.core.events import HttpExchange, redact
from valetkey.core.jose import TokenInvalid, unverified_parts

_REQUEST_HEADERS = ("authorization", "dpop", "content-type", "x-valetkey-flow")
_RESPONSE_HEADERS = (
    "content-type",
    "cache-control",
    "www-authenticate",
    "dpop-nonce",
    "location",
)


def redact_url(url: str) -> str:
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = urlencode(redact(dict(parse_qsl(parts.query, keep_blank_values=True))))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def exchange_of(response: httpx.Response, form: Mapping[str, str] | None = None) -> HttpExchange:
    request = response.request
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text[:2000]
    if isinstance(body, dict):
        body = redact(body)
    headers = {k: v for k, v in response.headers.items() if k.lower() in _RESPONSE_HEADERS}
    if "location" in headers:
        headers["location"] = redact_url(headers["location"])
    return HttpExchange(
        method=request.method,
        url=redact_url(str(request.url)),
        request_headers=redact(
            {k: v for k, v in request.headers.items() if k.lower() in _REQUEST_HEADERS}
        ),
        request_body=redact(dict(form or {})),
        status=response.status_code,
        response_headers=headers,
        response_body=body,
    )


def decode(token: str | None) -> dict[str, Any] | None:
    """Header and claims of a JWT, for display (the signature is checked elsewhere)."""
    if not token:
        return None
    try:
        header, claims = unverified_parts(token)
    except TokenInvalid:
        return {"opaque": True}
    return {"header": header, "claims": claims}


def expires_in(tokens: TokenSet) -> int | None:
    """The lifetime the server gave the access token, in seconds (for display)."""
    if tokens.expires_at is None:
        return None
    return round(tokens.expires_at - tokens.obtained_at)
