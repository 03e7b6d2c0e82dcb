"""A scripted browser for the attack scenarios: signs in and approves on the real server's pages."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import urljoin

import httpx

_FORM = re.compile(r"<form[^>]*action=\"([^\"]*)\"[^>]*>(.*?)</form>", re.S | re.I)
_INPUT = re.compile(r"<input[^>]*>", re.I)
_ATTR = re.compile(r"(\w+)=\"([^\"]*)\"")


def form_fields(html: str, base: str) -> tuple[str, dict[str, str]] | None:
    match = _FORM.search(html)
    if match is None:
        return None
    fields: dict[str, str] = {}
    for tag in _INPUT.findall(match.group(2)):
        attrs = {k.lower(): unescape(v) for k, v in _ATTR.findall(tag)}
        if "name" in attrs:
            fields[attrs["name"]] = attrs.get("value", "")
    return urljoin(base, unescape(match.group(1))), fields


async def sign_in_and_approve(
    http: httpx.AsyncClient, url: str, username: str, password: str
) -> httpx.Response:
    """Follow the server's pages from an authorization URL until it redirects off-site."""
    response = await http.get(url)
    origin = httpx.URL(url).copy_with(path="/", query=None, fragment=None)
    for _ in range(8):
        if response.is_redirect:
            target = response.url.join(response.headers["location"])
            if target.host == origin.host and target.port == origin.port:
                response = await http.get(target)
                continue
            return response
        found = (
            form_fields(response.text, str(response.url))
            if response.status_code in (200, 401)
            else None
        )
        if found is None:
            return response
        action, fields = found
        if "password" in fields:
            fields.update(username=username, password=password)
        else:
            fields["decision"] = "approve"
        response = await http.post(action, data=fields)
    return response
