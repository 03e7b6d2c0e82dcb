"""From a 401 to an authorization server: the resource's metadata (RFC 9728), then the server's
(RFC 8414). What an MCP client does before it can ask for a token; sans-I/O like every flow."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from valetkey.client.config import Endpoints, is_secure_url
from valetkey.client.discovery import discover
from valetkey.client.errors import DiscoveryError, SecurityCheckFailed, UnexpectedResponse
from valetkey.client.io import Flow
from valetkey.client.messages import read_json
from valetkey.core.challenge import parse_challenges
from valetkey.core.events import Check

_DEFAULT_PORTS = {"http": 80, "https": 443}


class ResourceMismatch(SecurityCheckFailed):
    """The metadata describes another resource than the one asked (RFC 9728 §3.3): not used."""


@dataclass(frozen=True)
class ProtectedResource:
    """A resource's metadata (RFC 9728 §2), checked against the URL it was discovered from."""

    resource: str
    authorization_servers: tuple[str, ...]
    scopes_supported: tuple[str, ...]
    metadata_url: str
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Discovered:
    """Everything a client needs to ask for a token for the resource."""

    resource: ProtectedResource
    endpoints: Endpoints  # of the chosen authorization server, its issuer checked (RFC 8414 §3.3)
    scope: str | None  # what to ask for: the challenge's scope, else scopes_supported


def _challenge_params(response: httpx.Response) -> list[dict[str, str]]:
    found = parse_challenges(response.headers.get_list("www-authenticate"))
    return [p for s, p in found if s == "bearer"] + [p for s, p in found if s != "bearer"]


def resource_metadata_url(response: httpx.Response) -> str | None:
    """The ``resource_metadata`` a 401 (or 403) challenge names (RFC 9728 §5.1), or None."""
    for params in _challenge_params(response):
        if params.get("resource_metadata"):
            return params["resource_metadata"]
    return None


def resource_problem(resource: Any, url: str) -> str | None:
    """Why metadata naming ``resource`` must not be used for ``url`` (RFC 9728 §3.3), or None.

    §3.3 asks for the URL itself; like draft-mcguinness-oauth-rfc9728bis (and the MCP SDKs) the
    identifier may also be the URL's origin or a path-segment prefix of it: one resource server,
    many endpoints. Another scheme, host, port or path is an impersonation attempt (§7.3).
    """
    if not isinstance(resource, str) or not resource:
        return "the resource metadata has no resource identifier (RFC 9728 §2)"
    r, u = urlsplit(resource), urlsplit(url)
    if r.query or r.fragment or "#" in resource or not is_secure_url(resource):
        return (
            f"the metadata names {resource!r}, which is not an https resource identifier without "
            "query or fragment (RFC 9728 §1.2)"
        )
    try:
        same_origin = (r.scheme, r.hostname, r.port or _DEFAULT_PORTS[r.scheme]) == (
            u.scheme,
            u.hostname,
            u.port or _DEFAULT_PORTS.get(u.scheme),
        )
    except ValueError:  # a port that is not a number
        same_origin = False
    path = r.path.rstrip("/")
    if not same_origin or (path and u.path != path and not u.path.startswith(path + "/")):
        return (
            f"the metadata describes the resource {resource!r}, not {url!r}: refusing to use it "
            "(RFC 9728 §3.3, impersonation defence §7.3)"
        )
    return None


def fetch_resource_metadata(metadata_url: str, url: str) -> Flow[ProtectedResource]:
    """GET the document (RFC 9728 §3.1) and check it describes the resource at ``url`` (§3.3)."""
    if not is_secure_url(metadata_url):
        raise DiscoveryError(
            f"the resource metadata URL {metadata_url!r} must be https (or http on a loopback "
            "host) (RFC 9728 §3)"
        )
    response = yield httpx.Request("GET", metadata_url, headers={"Accept": "application/json"})
    if response.status_code != 200:
        raise DiscoveryError(
            f"{metadata_url} answered {response.status_code}, not the resource's metadata "
            "(RFC 9728 §3.2)"
        )
    try:
        body = read_json(response)
    except UnexpectedResponse as exc:
        raise DiscoveryError(f"{metadata_url}: {exc}") from exc
    problem = resource_problem(body.get("resource"), url)
    if problem:
        mismatch = ResourceMismatch(problem)
        mismatch.checks = (Check("check_resource", "fail", "RFC 9728 §3.3", problem),)
        raise mismatch
    servers = _strings(body.get("authorization_servers"))
    if not servers:
        raise DiscoveryError(
            f"the metadata of {body['resource']!r} names no authorization_servers (RFC 9728 §2): "
            "it does not say where to get a token"
        )
    scopes = _strings(body.get("scopes_supported"))
    return ProtectedResource(body["resource"], servers, scopes, metadata_url, body)


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(v for v in value if isinstance(v, str) and v) if isinstance(value, list) else ()


def choose_issuer(found: ProtectedResource, preferred: str | None = None) -> str:
    """The first authorization server the resource names, or ``preferred`` if it names it."""
    if preferred is not None and preferred not in found.authorization_servers:
        raise DiscoveryError(
            f"{found.resource} does not name {preferred!r} among its authorization servers "
            f"({', '.join(found.authorization_servers)})"
        )
    issuer = preferred or found.authorization_servers[0]
    if not is_secure_url(issuer):
        raise DiscoveryError(
            f"the authorization server {issuer!r} is not https (plain http only on loopback)"
        )
    return issuer


def requested_scope(response: httpx.Response, found: ProtectedResource) -> str | None:
    """The challenge's ``scope`` (RFC 6750 §3), else every scope the resource supports."""
    for params in _challenge_params(response):
        if params.get("scope"):
            return params["scope"]
    return " ".join(found.scopes_supported) or None


def discover_resource(
    url: str, response: httpx.Response, *, issuer: str | None = None
) -> Flow[Discovered]:
    """From ``response`` (a 401 from ``url``) to the chosen authorization server's endpoints."""
    metadata_url = resource_metadata_url(response)
    if metadata_url is None:
        raise DiscoveryError(
            f"{url} answered {response.status_code} without resource_metadata in its challenge "
            "(RFC 9728 §5.1): it does not say which authorization server to use"
        )
    found = yield from fetch_resource_metadata(metadata_url, url)
    endpoints = yield from discover(choose_issuer(found, issuer))
    return Discovered(found, endpoints, requested_scope(response, found))


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def token_name_for(resource: str) -> str:
    """A token-store name for a resource: ``api.example.com``, ``127.0.0.1_8001``, ``host-mcp``."""
    parts = urlsplit(resource)
    port = f"_{parts.port}" if parts.port else ""
    name = _UNSAFE.sub("-", f"{parts.hostname or ''}{port}{parts.path.rstrip('/')}").strip("-._")
    if len(name) > 64 or not name:
        digest = hashlib.sha256(resource.encode()).hexdigest()[:12]
        name = f"{name[:51]}-{digest}".lstrip("-")
    return name
