"""`-v`: every HTTP exchange of a flow printed like a console, with secrets redacted."""

from __future__ import annotations

import json
from typing import Any

import httpx
from rich.markup import escape

from valetkey.cli.client_errors import err
from valetkey.client.redaction import redact_headers, redact_pairs, redact_url
from valetkey.core.events import redact

__all__ = ["redact_pairs", "redact_url", "show_exchange", "show_front_channel"]


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
