"""Reading a form body (RFC 6749 §3.2) without a multipart parser: the lab's one request helper."""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request


async def form(request: Request) -> dict[str, str]:
    """The urlencoded body's fields (the first value of a repeated one); empty for a GET."""
    if request.method != "POST":
        return {}
    text = (await request.body()).decode("utf-8", errors="replace")
    fields: dict[str, str] = {}
    for name, value in parse_qsl(text, keep_blank_values=True):
        fields.setdefault(name, value)
    return fields
