"""Discovery from an issuer URL: RFC 8414 metadata first, then OpenID Connect Discovery 1.0."""

from __future__ import annotations

from typing import Any

import httpx

from valetkey.client.config import Endpoints
from valetkey.client.errors import ConfigError, DiscoveryError, UnexpectedResponse
from valetkey.client.io import Flow
from valetkey.client.messages import read_json
from valetkey.core import discovery as rules


def metadata_urls(issuer: str) -> list[str]:
    """RFC 8414 §3.1 metadata first, then OIDC Discovery §4 (the rules live in core.discovery)."""
    problem = rules.issuer_problem(issuer)
    if problem:
        raise ConfigError(problem)
    return list(rules.metadata_urls(issuer))


def endpoints_from(metadata: dict[str, Any], issuer: str) -> Endpoints:
    # RFC 8414 §3.3 / OIDC Discovery §4.3: the metadata must name exactly the configured issuer.
    if not rules.same_issuer(metadata, issuer):
        raise DiscoveryError(
            f"metadata names issuer {metadata.get('issuer')!r}, not the configured {issuer!r}; "
            "refusing to use it (RFC 8414 §3.3)"
        )

    def url(name: str) -> str | None:
        value = metadata.get(name)
        return value if isinstance(value, str) else None

    return Endpoints(
        authorization_endpoint=url("authorization_endpoint"),
        token_endpoint=url("token_endpoint"),
        revocation_endpoint=url("revocation_endpoint"),
        jwks_uri=url("jwks_uri"),
        issuer=issuer,
        iss_parameter_supported=metadata.get("authorization_response_iss_parameter_supported")
        is True,
        metadata=metadata,
    )


def discover(issuer: str) -> Flow[Endpoints]:
    """Yield metadata requests; return the issuer's endpoints."""
    tried: list[str] = []
    for url in metadata_urls(issuer):
        response = yield httpx.Request("GET", url, headers={"Accept": "application/json"})
        if response.status_code != 200:
            tried.append(f"{url} -> {response.status_code}")
            continue
        try:
            metadata = read_json(response)
        except UnexpectedResponse as exc:
            raise DiscoveryError(f"{url}: {exc}") from exc
        return endpoints_from(metadata, issuer)
    raise DiscoveryError("no server metadata found for this issuer: " + "; ".join(tried))
