"""`-v`: every HTTP exchange of a flow printed like a console, with secrets redacted."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import httpx
from rich.markup import escape

from valetkey.cli.client_errors import err
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


def redact_headers(headers: httpx.Headers) -> list[tuple[str, str]]:
    out = []
    for name, value in headers.multi_items():
        if name.lower() in SECRET_HEADERS:
            scheme, _, rest = value.partition(" ")
            value = f"{scheme} {mask(rest)}" if rest else mask(value)
        out.append((name, value))
    return out


def _body(content: bytes, content_type: str) -> str:
    if not content:
        return ""
    text = content.decode("utf-8", "replace")
    if "x-www-form-urlencoded" in content_type:
        return redact_pairs(text)
    if "json" in content_type:
        try:
            value: Any = json.loads(text)
        except ValueError:
            return text[:2000]
        if isinstance(value, dict):
            value = redact(value)
        return json.dumps(value, indent=2, ensure_ascii=False)
    return text[:2000]


def show_exchange(request: httpx.Request, response: httpx.Response) -> None:
    err.print(f"[bold cyan]> {request.method} {escape(redact_url(str(request.url)))}[/]")
    for name, value in redact_headers(request.headers):
        err.print(f"[cyan]> {escape(name)}: {escape(value)}[/]")
    body = _body(request.content, request.headers.get("content-type", ""))
    if body:
        err.print(f"[cyan]> {escape(body)}[/]")
    err.print(f"[bold magenta]< {response.status_code} {escape(response.reason_phrase)}[/]")
    for name, value in redact_headers(response.headers):
        err.print(f"[magenta]< {escape(name)}: {escape(value)}[/]")
    body = _body(response.content, response.headers.get("content-type", ""))
    if body:
        err.print(f"[magenta]< {escape(body)}[/]")
    err.print("")


def show_front_channel(label: str, url_or_params: str | dict[str, str]) -> None:
    if isinstance(url_or_params, dict):
        text = "&".join(f"{k}={v}" for k, v in redact(url_or_params).items())
    else:
        text = redact_url(url_or_params)
    err.print(f"[bold yellow]{label}[/] {escape(text)}")
