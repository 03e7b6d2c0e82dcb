"""The same request as a curl command. Redacted values become shell variables to fill in."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from valetkey.core.events import HttpExchange

_SKIP_HEADERS = {"content-length", "host", "user-agent", "cookie", "referer", "origin"}


def _placeholder(name: str, value: Any) -> str:
    text = str(value)
    if "[redacted]" in text:
        return "$" + "".join(c if c.isalnum() else "_" for c in name.upper())
    return text


def _quote(text: str) -> str:
    """Single-quote for the shell, but leave $VARIABLES expandable."""
    if "$" not in text:
        return shlex.quote(text)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`") + '"'


def _url(url: str) -> str:
    parts = urlsplit(url)
    if not parts.query:
        return url
    pairs = [(k, _placeholder(k, v)) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    query = urlencode(pairs, safe="$")
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def curl_command(http: HttpExchange | Mapping[str, Any]) -> str:
    h = http if isinstance(http, Mapping) else http.__dict__
    method = str(h.get("method", "GET")).upper()
    parts = ["curl"]
    if method not in ("GET", "POST") or (method == "POST" and not h.get("request_body")):
        parts += ["-X", method]
    parts.append(_quote(_url(str(h.get("url", "")))))
    headers: Mapping[str, Any] = h.get("request_headers") or {}
    for name, value in headers.items():
        if name.lower() in _SKIP_HEADERS:
            continue
        if name.lower() == "authorization" and "[redacted]" in str(value):
            scheme = str(value).split(" ", 1)[0].lower()
            if scheme.startswith("basi"):  # masked: "Basi…[redacted]"
                parts += ["-u", _quote("$CLIENT_ID:$CLIENT_SECRET")]
            else:
                parts += ["-H", _quote("Authorization: Bearer $ACCESS_TOKEN")]
            continue
        if name.lower() == "content-type" and method == "POST":
            continue  # curl --data-urlencode sets application/x-www-form-urlencoded
        parts += ["-H", _quote(f"{name}: {_placeholder(name, value)}")]
    body: Mapping[str, Any] = h.get("request_body") or {}
    for name, value in body.items():
        parts += ["--data-urlencode", _quote(f"{name}={_placeholder(name, value)}")]
    return " ".join(parts)
