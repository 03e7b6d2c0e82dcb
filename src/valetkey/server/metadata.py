"""Discovery: RFC 8414 server metadata, the OpenID configuration, and the JWK Set."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from valetkey.core import par
from valetkey.core.claims import SCOPE_CLAIMS
from valetkey.core.device import DEVICE_CODE_GRANT
from valetkey.core.models import CLIENT_SECRET_BASIC, CLIENT_SECRET_POST, JWT_METHODS, PUBLIC_AUTH
from valetkey.core.registration import endpoint_metadata
from valetkey.server.http import json_response
from valetkey.server.state import ServerState


def server_metadata(state: ServerState) -> dict[str, Any]:
    iss = state.issuer
    s = state.settings
    grant_types = ["authorization_code", "refresh_token", "client_credentials", DEVICE_CODE_GRANT]
    response_types = ["code"]
    if s.allow_deprecated_grants:
        grant_types += ["implicit", "password"]
        response_types += ["token"]
    methods = ["S256"]
    if any("plain" in c.pkce_methods for c in state.store.list_clients()):
        methods.append("plain")
    return {
        "issuer": iss,
        "authorization_endpoint": f"{iss}/authorize",
        "token_endpoint": f"{iss}/token",
        "device_authorization_endpoint": f"{iss}/device_authorization",  # RFC 8628 §4
        "jwks_uri": f"{iss}/jwks.json",
        "response_types_supported": response_types,
        "response_modes_supported": ["query", "fragment"]
        if s.allow_deprecated_grants
        else ["query"],
        "grant_types_supported": grant_types,
        "token_endpoint_auth_methods_supported": [
            CLIENT_SECRET_BASIC,
            CLIENT_SECRET_POST,
            PUBLIC_AUTH,
            *JWT_METHODS,
        ],
        "token_endpoint_auth_signing_alg_values_supported": assertion_algs(state),
        "code_challenge_methods_supported": methods,
        "scopes_supported": sorted(state.known_scopes),
        "authorization_response_iss_parameter_supported": True,
        "dpop_signing_alg_values_supported": list(state.dpop_policy.algs),  # RFC 9449 §5.1
        "service_documentation": f"{iss}/",
        **lifecycle_metadata(state),
        **endpoint_metadata(iss, state.registration_policy()),
        **par.metadata(iss, s.require_pushed_authorization_requests),
        # draft-ietf-oauth-client-id-metadata-document-01 §5: an https URL may be the client_id.
        **({"client_id_metadata_document_supported": True} if state.documents else {}),
    }


def lifecycle_metadata(state: ServerState) -> dict[str, Any]:
    """Revocation, introspection (RFC 8414 §2) and the OpenID Connect fields (OIDC Discovery §3)."""
    iss = state.issuer
    auth = [CLIENT_SECRET_BASIC, CLIENT_SECRET_POST, *JWT_METHODS]
    algs = assertion_algs(state)
    claims = ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "azp"]
    claims += [c for names in SCOPE_CLAIMS.values() for c in names]
    return {
        "revocation_endpoint": f"{iss}/revoke",
        "revocation_endpoint_auth_methods_supported": [*auth, PUBLIC_AUTH],
        "revocation_endpoint_auth_signing_alg_values_supported": algs,
        "introspection_endpoint": f"{iss}/introspect",
        "introspection_endpoint_auth_methods_supported": auth,
        "introspection_endpoint_auth_signing_alg_values_supported": algs,
        "userinfo_endpoint": f"{iss}/userinfo",
        "end_session_endpoint": f"{iss}/logout",
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [state.settings.id_token_alg],
        "claims_supported": claims,
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
    }


def assertion_algs(state: ServerState) -> list[str]:
    """The algs of client assertions (RFC 8414 §2, never "none"); /par uses the token
    endpoint's (RFC 9126 §2)."""
    policy = state.assertion_policy
    return [*policy.key_algs, *policy.secret_algs]


async def oauth_metadata_endpoint(request: Request) -> Response:
    state: ServerState = request.app.state.vk
    return json_response(server_metadata(state), headers={"Cache-Control": "public, max-age=60"})


async def openid_configuration_endpoint(request: Request) -> Response:
    """OIDC Discovery §4: the same document as RFC 8414's, from the same function."""
    state: ServerState = request.app.state.vk
    return json_response(server_metadata(state), headers={"Cache-Control": "public, max-age=60"})


async def jwks_endpoint(request: Request) -> Response:
    state: ServerState = request.app.state.vk
    return json_response(
        state.keys.jwks(state.clock.now()), headers={"Cache-Control": "public, max-age=60"}
    )
