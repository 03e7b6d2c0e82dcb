"""Comparing a proof's ``htu`` with the request's target URI (RFC 9449 §4.3 point 9).

Both sides are reduced to ``scheme://host[:port]/path`` after RFC 3986 §6.2.2 syntax-based and
§6.2.3 scheme-based normalization; query and fragment are dropped. Which URL the server passes in
matters more than the normalization: see ``docs/dpop.md`` (a proxy-fronted server passes the URL
derived from its configured public origin, never one built from the ``Host`` header).
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import quote, urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# RFC 3986 §3.3 pchar (less "%", kept as is) and "/": every other character gets percent-encoded.
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"


def _percent(match: re.Match[str]) -> str:
    """§6.2.2.1-2: hex digits in upper case; an encoded unreserved character decoded."""
    char = chr(int(match.group(1), 16))
    return char if char in _UNRESERVED else "%" + match.group(1).upper()


def remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4 (applied as §6.2.2.3 asks)."""
    out: list[str] = []
    segments = path.split("/")
    for i, segment in enumerate(segments):
        last = i == len(segments) - 1
        if segment == ".":
            if last:
                out.append("")
        elif segment == "..":
            if len(out) > 1:
                out.pop()
            if last:
                out.append("")
        else:
            out.append(segment)
    result = "/".join(out)
    return result if result.startswith("/") or not path.startswith("/") else "/" + result


@lru_cache(maxsize=512)
def normalize(uri: str) -> str | None:
    """``scheme://host[:port]/path`` of an absolute http(s) URI, or None when it is not one (or
    carries userinfo, which a target URI never does: RFC 9110 §4.2.4)."""
    try:
        parts = urlsplit(uri.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), parts.hostname
    if scheme not in _DEFAULT_PORTS or not host or "@" in parts.netloc:
        return None
    authority = f"[{host}]" if ":" in host else host  # hostname is lower-cased, IPv6 unbracketed
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        authority += f":{port}"
    path = _PERCENT.sub(_percent, quote(parts.path, safe=_PATH_SAFE))
    return f"{scheme}://{authority}{remove_dot_segments(path) or '/'}"
