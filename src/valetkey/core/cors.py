"""Which web origins may read the answers of the endpoints a browser app calls (the Fetch
standard's CORS protocol), and what the answers say.

A browser app (an SPA) runs on an origin and calls the authorization server from script: the
metadata and the JWKS (public: any origin may read them), and the token, revocation and userinfo
endpoints (only the origins of registered clients). The origins a client may call from are those
of its ``http(s)`` redirect URIs (where its pages live), plus the ``allowed_origins`` setting. A
loopback IP redirect URI matches on any port (RFC 8252 section 7.3), so its origin does too.
Credentials (cookies) are never allowed: these endpoints authenticate the client by what it
sends, never by the browser's cookies, and ``/authorize`` and the sign-in pages never take part.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from valetkey.core.redirect import LOOPBACK_IPS
from valetkey.core.text import shown

Access = Literal["public", "clients"]

RULE = "CORS: only registered origins read token, revocation and userinfo answers"
SPEC = "Fetch standard, CORS protocol; RFC 6749 section 3.1.2 (origins from redirect URIs)"
# What a browser app sends beyond the simple headers, and what it needs to read back.
ALLOW_HEADERS = "Authorization, Content-Type, DPoP"
EXPOSE_HEADERS = "WWW-Authenticate, DPoP-Nonce, Retry-After"
MAX_AGE = "600"
_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(uri: str) -> str | None:
    """The web origin (``scheme://host[:port]``, RFC 6454) of an http(s) URI, or None."""
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), parts.hostname
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    shown = f"[{host}]" if ":" in host else host
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{shown}"
    return f"{scheme}://{shown}:{port}"


def origin_problem(value: str) -> str | None:
    """Why ``value`` is not an origin as a browser sends it, or None."""
    if origin_of(value) != value:
        return (
            "must be an origin: scheme, host and optional port, lowercase, nothing after "
            "(e.g. https://app.example.com or http://127.0.0.1:5173)"
        )
    return None


@dataclass(frozen=True)
class OriginPolicy:
    """The origins allowed to read the client-only endpoints."""

    exact: frozenset[str] = frozenset()
    loopback: frozenset[tuple[str, str]] = frozenset()  # (scheme, host): any port

    @classmethod
    def build(cls, redirect_uris: Iterable[str], extra: Iterable[str] = ()) -> OriginPolicy:
        exact, loopback = set(extra), set()
        for uri in redirect_uris:
            origin = origin_of(uri)
            if origin is None:
                continue  # a private-use scheme: a native app, which has no web origin
            parts = urlsplit(origin)
            if parts.scheme == "http" and parts.hostname in LOOPBACK_IPS:
                loopback.add((parts.scheme, parts.hostname))
            else:
                exact.add(origin)
        return cls(frozenset(exact), frozenset(loopback))

    def allows(self, origin: str) -> bool:
        if origin in self.exact:
            return True
        if not self.loopback or origin_of(origin) != origin:
            return False
        parts = urlsplit(origin)
        return (parts.scheme, parts.hostname or "") in self.loopback


@dataclass(frozen=True)
class Decision:
    """The CORS headers of one answer, or why the origin was refused."""

    headers: tuple[tuple[str, str], ...]
    refused: str | None = None


def answer_headers(access: Access, origin: str | None, policy: OriginPolicy) -> Decision:
    """Headers for an actual (non-preflight) answer. Without an ``Origin`` (a server-side client)
    nothing is added; a refused origin gets no ``Access-Control-Allow-Origin``, so its script
    cannot read the answer."""
    if origin is None:
        return Decision(())
    if access == "public":
        return Decision(
            (
                ("Access-Control-Allow-Origin", "*"),
                ("Access-Control-Expose-Headers", EXPOSE_HEADERS),
            )
        )
    vary = (("Vary", "Origin"),)
    if not policy.allows(origin):
        return Decision(vary, _refusal(origin))
    return Decision(
        (
            ("Access-Control-Allow-Origin", origin),
            ("Access-Control-Expose-Headers", EXPOSE_HEADERS),
            *vary,
        )
    )


def preflight_headers(
    access: Access,
    origin: str | None,
    method: str | None,
    methods: tuple[str, ...],
    policy: OriginPolicy,
) -> Decision:
    """The answer to an ``OPTIONS`` preflight: the allowed method and headers, or a refusal."""
    if origin is None or method is None:
        return Decision(
            (),
            "a CORS preflight needs the Origin and Access-Control-Request-Method headers",
        )
    if method not in methods:
        return Decision((), f"this endpoint accepts {', '.join(methods)}, not {shown(method, 16)}")
    allowed = answer_headers(access, origin, policy)
    if allowed.refused:
        return allowed
    return Decision(
        (
            *allowed.headers,
            ("Access-Control-Allow-Methods", ", ".join(methods)),
            ("Access-Control-Allow-Headers", ALLOW_HEADERS),
            ("Access-Control-Max-Age", MAX_AGE),
        )
    )


def _refusal(origin: str) -> str:
    return (
        f"the origin {shown(origin, 80)} is not allowed to call this endpoint from a browser: register "
        "a redirect URI on that origin for the client, or add it to allowed_origins"
    )
