"""Redirect URI rules: registration (RFC 6749 §3.1.2, RFC 8252 §7) and exact matching (RFC 9700 §4.1.3)."""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import quote_plus, urlsplit, urlunsplit

LOOPBACK_IPS = ("127.0.0.1", "::1")


def registration_problem(uri: str) -> str | None:
    """Why ``uri`` cannot be registered, or None when it can."""
    parts = urlsplit(uri)
    if not parts.scheme:
        return "must be an absolute URI with a scheme (RFC 6749 §3.1.2)"
    if parts.fragment or "#" in uri:
        return "must not contain a fragment (RFC 6749 §3.1.2)"
    if parts.scheme in ("http", "https"):
        if not parts.hostname:
            return "must name a host"
        if parts.scheme == "http" and not is_loopback_host(parts.hostname):
            return "plain http is allowed only for loopback hosts; use https (RFC 9700 §2.6)"
        return None
    if parts.scheme in ("javascript", "data", "file", "vbscript"):
        return f"the {parts.scheme}: scheme is never a valid redirect"
    if "." not in parts.scheme:
        # RFC 8252 §7.1: private-use schemes are reverse domain names.
        return "a private-use scheme must be a reverse domain name such as com.example.app (RFC 8252 §7.1)"
    return None


def is_loopback_host(host: str) -> bool:
    return host in LOOPBACK_IPS or host == "localhost"


def _is_loopback_ip_literal(uri: str) -> bool:
    parts = urlsplit(uri)
    return parts.scheme == "http" and parts.hostname in LOOPBACK_IPS


def claimable_by_any_local_app(uri: str) -> bool:
    """RFC 8252 §8.6: a loopback IP literal (any port, §7.3) or a private-use scheme (§7.1) names no
    owner: any app on the user's machine can receive what is sent there."""
    scheme = urlsplit(uri).scheme.lower()
    return _is_loopback_ip_literal(uri) or scheme not in ("http", "https")


def _without_port(uri: str) -> tuple[str, str, str, str, str]:
    parts = urlsplit(uri)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    userinfo = ""
    if parts.username is not None:
        userinfo = parts.username + (f":{parts.password}" if parts.password else "") + "@"
    return (parts.scheme, userinfo + host, parts.path, parts.query, parts.fragment)


def matches(requested: str, registered: str) -> bool:
    """Exact string match; a loopback IP literal may differ only in its port (RFC 8252 §7.3)."""
    if requested == registered:
        return True
    if _is_loopback_ip_literal(requested) and _is_loopback_ip_literal(registered):
        try:
            port = urlsplit(requested).port  # RFC 3986 §3.2.3: a port is digits (ValueError)
            same = _without_port(requested) == _without_port(registered)
        except ValueError:
            return False
        return same and (port is None or 0 < port < 65536)
    return False


def find_match(requested: str, registered: tuple[str, ...]) -> str | None:
    for candidate in registered:
        if matches(requested, candidate):
            return candidate
    return None


_AS_IS = re.compile(r"[A-Za-z0-9_.~-]*")  # what quote_plus leaves unchanged
_quote_cached = lru_cache(maxsize=256)(quote_plus)


def _quote(text: str) -> str:
    if _AS_IS.fullmatch(text):
        return text
    return _quote_cached(text) if len(text) <= 256 else quote_plus(text)


def encode_params(params: dict[str, str]) -> str:
    """``urlencode(params)`` for string values (a test holds the two together). A value that needs
    no escaping, such as a code, is not escaped; a short one that does, such as the issuer sent
    with every response, is escaped once and remembered."""
    return "&".join([f"{_quote(name)}={_quote(value)}" for name, value in params.items()])


def with_params(uri: str, params: dict[str, str], *, fragment: bool = False) -> str:
    """Add response parameters to the query (or fragment), keeping the registered query intact."""
    parts = urlsplit(uri)
    encoded = encode_params(params)
    if fragment:
        return urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, encoded))
    query = f"{parts.query}&{encoded}" if parts.query else encoded
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
