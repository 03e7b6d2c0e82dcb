"""Registering a client without a human: Dynamic Client Registration (RFC 7591) as a sans-I/O
flow, and Client ID Metadata Documents (a ``client_id`` that is an https URL, used as given)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from valetkey.client.config import ClientConfig, Endpoints, is_secure_url
from valetkey.client.errors import ConfigError, UnexpectedResponse
from valetkey.client.io import Flow
from valetkey.client.messages import raise_for_error, read_json
from valetkey.core.models import AUTH_METHODS, CLIENT_SECRET_BASIC, PUBLIC_AUTH, AuthMethod

# RFC 8252 §7.3: a loopback IP redirect may use any port, so one registration serves every run.
LOOPBACK_REDIRECT = "http://127.0.0.1/callback"


def native_client_metadata(
    redirect_uris: Sequence[str] = (LOOPBACK_REDIRECT,),
    *,
    client_name: str = "valetkey CLI",
    scope: str | None = None,
) -> dict[str, Any]:
    """RFC 7591 §2 metadata of a public native client: code + PKCE, refresh, no secret."""
    metadata: dict[str, Any] = {
        "client_name": client_name,
        "redirect_uris": list(redirect_uris),
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": PUBLIC_AUTH,
    }
    if scope:
        metadata["scope"] = scope
    return metadata


@dataclass(frozen=True)
class Registration:
    """What the server registered (RFC 7591 §3.2.1); it may differ from what was asked."""

    client_id: str
    auth_method: AuthMethod
    client_secret: str | None = None
    client_secret_expires_at: int | None = None
    registration_access_token: str | None = None  # for RFC 7592 management; a secret
    registration_client_uri: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def config(
        self, endpoints: Endpoints, *, scope: str | None = None, resources: Sequence[str] = ()
    ) -> ClientConfig:
        return ClientConfig(
            self.client_id,
            endpoints,
            client_secret=self.client_secret,
            auth_method=self.auth_method,
            scope=scope,
            resources=tuple(resources),
        )


def register(
    endpoint: str, metadata: Mapping[str, Any], *, initial_access_token: str | None = None
) -> Flow[Registration]:
    """POST the metadata to the registration endpoint (RFC 7591 §3.1); return the registration."""
    if not is_secure_url(endpoint):
        raise ConfigError(
            f"the registration endpoint {endpoint!r} must be https (plain http only on loopback)"
        )
    headers = {"Accept": "application/json"}
    if initial_access_token:  # RFC 7591 §3: an initial access token is a bearer token
        headers["Authorization"] = f"Bearer {initial_access_token}"
    response = yield httpx.Request("POST", endpoint, json=dict(metadata), headers=headers)
    return registration_response(response, metadata)


def registration_response(response: httpx.Response, sent: Mapping[str, Any]) -> Registration:
    """RFC 7591 §3.2.1 success (201) or §3.2.2 error, checked against what was sent."""
    body = read_json(response)
    if response.status_code not in (200, 201):
        raise_for_error(body, response.status_code, str(response.request.url))
        raise UnexpectedResponse(
            f"the registration endpoint answered {response.status_code}",
            status=response.status_code,
        )
    client_id = body.get("client_id")
    if not isinstance(client_id, str) or not client_id:
        raise UnexpectedResponse("the registration response has no client_id (RFC 7591 §3.2.1)")
    registered = body.get("redirect_uris", sent.get("redirect_uris", []))
    lost = [u for u in sent.get("redirect_uris", []) if u not in registered]
    if lost:
        raise UnexpectedResponse(
            f"the server did not register the redirect URIs {lost}: the browser could not come "
            "back to this client (RFC 7591 §3.2.1)"
        )
    # RFC 7591 §2: an omitted method means client_secret_basic.
    method = body.get("token_endpoint_auth_method") or sent.get(
        "token_endpoint_auth_method", CLIENT_SECRET_BASIC
    )
    secret = body.get("client_secret") if isinstance(body.get("client_secret"), str) else None
    if method not in AUTH_METHODS or (method != PUBLIC_AUTH and not secret):
        raise UnexpectedResponse(
            f"the client was registered for token_endpoint_auth_method {method!r}"
            + ("" if secret else " without a client_secret")
            + ", which this client cannot use"
        )
    return Registration(
        client_id,
        method,
        client_secret=secret,
        client_secret_expires_at=_int(body.get("client_secret_expires_at")),
        registration_access_token=_str(body.get("registration_access_token")),
        registration_client_uri=_str(body.get("registration_client_uri")),
        metadata=body,
    )


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def metadata_document_problem(client_id: str) -> str | None:
    """Why ``client_id`` cannot name a Client ID Metadata Document, or None
    (draft-ietf-oauth-client-id-metadata-document §3: https, a path without dot segments, no
    fragment, no credentials)."""
    parts = urlsplit(client_id)
    if parts.scheme != "https" or not parts.hostname:
        return "a client ID metadata document URL must be an https URL"
    if parts.username is not None or parts.password is not None:
        return "a client ID metadata document URL must not carry a username or password"
    segments = parts.path.split("/")
    if parts.path in ("", "/") or "." in segments or ".." in segments:
        return "a client ID metadata document URL needs a path without . or .. segments"
    if parts.fragment or "#" in client_id:
        return "a client ID metadata document URL must not have a fragment"
    return None


def is_metadata_document_url(client_id: str) -> bool:
    return client_id.startswith("https://")
