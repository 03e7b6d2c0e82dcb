"""Protected Resource Metadata (RFC 9728): the document a resource server publishes so that a
client can learn, from a 401 alone, which authorization server issues tokens for it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from valetkey.core.discovery import issuer_problem
from valetkey.core.redirect import is_loopback_host

WELL_KNOWN = "/.well-known/oauth-protected-resource"
# BearerAuth reads the token from the Authorization header only (core.bearer): RFC 6750 §2.1.
BEARER_METHODS = ("header",)
_URL_FIELDS = ("resource_documentation", "resource_policy_uri", "resource_tos_uri", "jwks_uri")
_OWN_FIELDS = frozenset(
    {"resource", "authorization_servers", "scopes_supported", "bearer_methods_supported",
     "resource_name", *_URL_FIELDS}
)  # fmt: skip


def identifier_problem(resource: str) -> str | None:
    """Why ``resource`` cannot be a protected resource's identifier (RFC 9728 §1.2), or None."""
    parts = urlsplit(resource)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "must be an absolute https URL (RFC 9728 §1.2)"
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        return "must use https; plain http is allowed only for loopback hosts (RFC 9728 §1.2)"
    if parts.fragment or "#" in resource:
        return "must not have a fragment (RFC 9728 §1.2, RFC 8707 §2)"
    if parts.query:
        return "should not have a query (RFC 8707 §2); use a path to tell resources apart"
    return None


def metadata_url(resource: str) -> str:
    """RFC 9728 §3.1: the well-known segment goes between the host and the identifier's path
    (its terminating "/" removed), so each path of a host has a document of its own."""
    parts = urlsplit(resource)
    path = WELL_KNOWN + parts.path.rstrip("/")
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


@dataclass(frozen=True)
class ResourceMetadata:
    """What ``BearerAuth(..., resource_metadata=...)`` publishes (RFC 9728 §2).

    ``resource`` is this resource's identifier, the audience its tokens name; with no
    ``authorization_servers`` BearerAuth names its validator's issuer. ``extra`` adds other
    registered parameters (``resource_signing_alg_values_supported``, ...).
    """

    resource: str
    authorization_servers: Sequence[str] = ()
    scopes_supported: Sequence[str] = ()
    resource_name: str | None = None
    resource_documentation: str | None = None
    resource_policy_uri: str | None = None
    resource_tos_uri: str | None = None
    jwks_uri: str | None = None  # the resource's own keys (RFC 9728 §2), not the issuer's
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        problem = identifier_problem(self.resource)
        if problem:
            raise ValueError(f"resource {self.resource!r} {problem}")
        for issuer in self.authorization_servers:
            problem = issuer_problem(issuer)  # RFC 9728 §2: each is an RFC 8414 issuer
            if problem:
                raise ValueError(f"authorization_servers: {problem}")
        for name in _URL_FIELDS:
            value = getattr(self, name)
            if value is not None and urlsplit(value).scheme not in ("https", "http"):
                raise ValueError(f"{name} {value!r} must be an http(s) URL")
        if any(not s or " " in s for s in self.scopes_supported):
            raise ValueError("scopes_supported: each scope is one non-empty word (RFC 6749 §3.3)")
        clash = sorted(_OWN_FIELDS & set(self.extra))
        if clash:
            raise ValueError(f"extra may not set {clash}: use the fields of the same name")
        object.__setattr__(self, "authorization_servers", tuple(self.authorization_servers))
        object.__setattr__(self, "scopes_supported", tuple(self.scopes_supported))

    @property
    def url(self) -> str:
        """Where the document is served, and what every 401 challenge names (RFC 9728 §5.1)."""
        return metadata_url(self.resource)

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    def document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"resource": self.resource}
        if self.authorization_servers:
            doc["authorization_servers"] = list(self.authorization_servers)
        if self.scopes_supported:
            doc["scopes_supported"] = list(self.scopes_supported)
        doc["bearer_methods_supported"] = list(BEARER_METHODS)
        for name in ("resource_name", *_URL_FIELDS):
            if getattr(self, name) is not None:
                doc[name] = getattr(self, name)
        return {**doc, **self.extra}


@dataclass(frozen=True)
class MetadataResponse:
    """The document as sent: its bytes, a strong ETag, and the caching headers (built once)."""

    body: bytes
    etag: str
    max_age: int

    @classmethod
    def of(cls, metadata: ResourceMetadata, max_age: int) -> MetadataResponse:
        body = json.dumps(metadata.document(), separators=(",", ":")).encode()
        return cls(body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"', max_age)

    def headers(self, *, with_length: bool = True) -> list[tuple[bytes, bytes]]:
        headers = [
            (b"content-type", b"application/json"),
            (b"cache-control", f"public, max-age={self.max_age}".encode()),
            (b"etag", self.etag.encode()),
            # A public document: browser clients on any origin may read it (no credentials).
            (b"access-control-allow-origin", b"*"),
        ]
        if with_length:
            headers.append((b"content-length", str(len(self.body)).encode()))
        return headers

    def not_modified(self, if_none_match: str | None) -> bool:
        """RFC 9110 §13.1.2: weak comparison against each listed entity tag, or ``*``."""
        if not if_none_match:
            return False
        tags = [t.strip() for t in if_none_match.split(",")]
        return "*" in tags or any(t.removeprefix("W/") == self.etag for t in tags)
