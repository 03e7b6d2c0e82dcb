"""The demo client's own FlowEvents, with its HTTP exchanges redacted like the server's (the
client library's redaction: one list of secret names, ``core.events.redact``)."""

from __future__ import annotations

from typing import Any

import httpx

from valetkey.client import TokenSet
from valetkey.client.record_http import exchange
from valetkey.client.redaction import redact_url
from valetkey.core.events import HttpExchange
from valetkey.core.jose import TokenInvalid, unverified_parts

__all__ = ["decode", "exchange_of", "expires_in", "redact_url"]

def exchange_of(response: httpx.Response) -> HttpExchange:
    """The demo client's exchange, redacted as the CLI's flow record redacts it."""
    return exchange(response.request, response)


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
