"""Exact redirect URI matching (RFC 9700 section 4.1.3, OAuth 2.1 section 2.3.1) and never
redirecting to an unregistered URI (RFC 6749 section 4.1.2.1)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode, urlsplit, urlunsplit

from valetkey.audit.model import Result, failed, passed, skipped
from valetkey.audit.navigate import Landing
from valetkey.audit.target import Target
from valetkey.core import pkce
from valetkey.core.redirect import is_loopback_host

FOREIGN = "https://audit-attacker.invalid/callback"


def _try(t: Target, uri: str, **params: str) -> Landing:
    challenge = pkce.challenge_for(pkce.new_verifier(), "S256")
    return t.authorize(redirect_uri=uri, code_challenge=challenge, code_challenge_method="S256",
                       **params)  # fmt: skip


def _judge(landing: Landing, uri: str, what: str) -> Result:
    if landing.crashed:
        return skipped(f"{what} ({uri}): the server failed rather than refused: "
                       f"{landing.describe()}")  # fmt: skip
    if landing.location is not None and (landing.went_to(uri) or landing.location.startswith(uri)):
        return failed(f"{what} ({uri}): the server redirected there: {landing.location}")
    return passed(f"{what} ({uri}): {landing.describe()}")


def _variant(change: Callable[[str], str | None], what: str) -> Callable[[Target], Result]:
    def probe(t: Target) -> Result:
        uri = change(t.config.redirect_uri)
        if uri is None:
            return skipped(f"{what}: not applicable to {t.config.redirect_uri}")
        return _judge(_try(t, uri), uri, what)

    return probe


def _longer_path(uri: str) -> str:
    p = urlsplit(uri)
    return urlunsplit((p.scheme, p.netloc, p.path.rstrip("/") + "/audit", p.query, ""))


def _other_query(uri: str) -> str:
    p = urlsplit(uri)
    query = "&".join(q for q in (p.query, urlencode({"audit": "1"})) if q)
    return urlunsplit((p.scheme, p.netloc, p.path, query, ""))


def _plain_http(uri: str) -> str | None:
    p = urlsplit(uri)
    return urlunsplit(("http", p.netloc, p.path, p.query, "")) if p.scheme == "https" else None


def _other_port(uri: str) -> str | None:
    p = urlsplit(uri)
    if p.hostname is None or is_loopback_host(p.hostname):
        return None  # RFC 8252 section 7.3: loopback redirect URIs may use any port
    port = (p.port or (443 if p.scheme == "https" else 80)) + 1
    host = f"[{p.hostname}]" if ":" in p.hostname else p.hostname
    return urlunsplit((p.scheme, f"{host}:{port}", p.path, p.query, ""))


path = _variant(_longer_path, "the registered path with a segment appended")
query = _variant(_other_query, "the registered URI with a query parameter added")
port = _variant(_other_port, "the registered URI on another port")
scheme = _variant(_plain_http, "the registered https URI as http")


def foreign(t: Target) -> Result:
    """An unregistered URI, alone and with an error the server would otherwise redirect."""
    first = _judge(_try(t, FOREIGN), FOREIGN, "an unregistered redirect_uri")
    second = _judge(
        _try(t, FOREIGN, response_type="audit_unknown"), FOREIGN,
        "an unregistered redirect_uri with an unsupported response_type",
    )  # fmt: skip
    for status in ("fail", "skip"):
        if status in (first.status, second.status):
            shown = "; ".join(r.evidence for r in (first, second) if r.status == status)
            return failed(shown) if status == "fail" else skipped(shown)
    return passed(f"{first.evidence}; {second.evidence}")
