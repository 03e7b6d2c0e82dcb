"""Where an issuer's metadata lives, and whether a metadata document belongs to that issuer.

Used by the client library (``client.discovery``), the resource server (``resource.discovery``)
and, through the client library, the demo client.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

OAUTH_WELL_KNOWN = "/.well-known/oauth-authorization-server"
OIDC_WELL_KNOWN = "/.well-known/openid-configuration"


def issuer_problem(issuer: str) -> str | None:
    """Why ``issuer`` cannot be an issuer identifier (RFC 8414 §2), or None."""
    parts = urlsplit(issuer)
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.query or parts.fragment:
        return f"issuer {issuer!r} must be an http(s) URL without query or fragment (RFC 8414 §2)"
    return None


def oauth_metadata_url(issuer: str) -> str:
    """RFC 8414 §3.1: the well-known segment goes between the host and the issuer's path (its
    terminating "/" removed)."""
    parts = urlsplit(issuer)
    return urlunsplit(
        (parts.scheme, parts.netloc, OAUTH_WELL_KNOWN + parts.path.rstrip("/"), "", "")
    )


def openid_configuration_url(issuer: str) -> str:
    """OIDC Discovery §4.1: the well-known segment is appended to the issuer (its "/" removed)."""
    parts = urlsplit(issuer)
    return urlunsplit(
        (parts.scheme, parts.netloc, parts.path.rstrip("/") + OIDC_WELL_KNOWN, "", "")
    )


def metadata_urls(issuer: str) -> tuple[str, str]:
    """Where to look, in order: RFC 8414 metadata, then the OpenID Provider configuration."""
    return oauth_metadata_url(issuer), openid_configuration_url(issuer)


def same_issuer(metadata: Mapping[str, Any], issuer: str) -> bool:
    """RFC 8414 §3.3 / OIDC Discovery §4.3: the document's issuer is identical to the configured
    one (no normalisation: a trailing "/" or a case difference is a different issuer)."""
    value = metadata.get("issuer")
    return isinstance(value, str) and value == issuer
