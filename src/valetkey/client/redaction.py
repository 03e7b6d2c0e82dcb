"""Secrets out of what a person reads: URLs, form bodies and headers of the client's exchanges.

Each value is masked by :func:`valetkey.core.events.redact` (the one list of secret names); these
helpers only find the values in URLs, forms and headers. ``-v`` prints with them, and the flow
record (``client.record``) builds its events with them.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit, urlunsplit

import httpx

from valetkey.core.events import mask, redact

SECRET_HEADERS = ("authorization", "cookie", "set-cookie", "proxy-authorization")


def redact_pairs(text: str) -> str:
    """A form or query string, decoded for reading, each secret value masked (repeats kept)."""
    pairs = parse_qsl(text, keep_blank_values=True)
    return "&".join(f"{k}={redact({k: v})[k]}" for k, v in pairs)


def redact_url(url: str) -> str:
    parts = urlsplit(url)
    query = redact_pairs(parts.query) if parts.query else ""
    frag = redact_pairs(parts.fragment) if "=" in parts.fragment else parts.fragment
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, frag))


def redact_header(name: str, value: str) -> str:
    """A secret header keeps its scheme (``Bearer``, ``Basic``) and a masked credential."""
    if name.lower() not in SECRET_HEADERS:
        return value
    scheme, _, rest = value.partition(" ")
    return f"{scheme} {mask(rest)}" if rest else mask(value)


def redact_headers(headers: httpx.Headers) -> list[tuple[str, str]]:
    return [(name, redact_header(name, value)) for name, value in headers.multi_items()]
