"""What both client registration endpoints (RFC 7591 ``/register``, RFC 7592
``/register/{client_id}``) read from a request and how they answer: the JSON body, the bearer
token, a client's metadata, and a refusal with its event."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from valetkey.core import bearer
from valetkey.core.errors import InvalidRequest
from valetkey.core.events import Check
from valetkey.core.models import Client
from valetkey.core.registration import Refusal, RegistrationPolicy
from valetkey.core.text import public
from valetkey.server.http import json_response
from valetkey.server.state import ServerState

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def policy(state: ServerState) -> RegistrationPolicy:
    return state.registration_policy()


def client_json(state: ServerState, client: Client) -> dict[str, Any]:
    """The client's metadata as RFC 7591 section 3.2.1 returns it (never its secret's digest)."""
    body: dict[str, Any] = {
        "client_id": client.client_id,
        "client_name": client.client_name,
        "redirect_uris": list(client.redirect_uris),
        "grant_types": list(client.grant_types),
        "response_types": list(client.response_types),
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "registration_client_uri": f"{state.issuer}/register/{client.client_id}",
    }
    if client.scope:
        body["scope"] = " ".join(client.scope)
    if client.post_logout_redirect_uris:
        body["post_logout_redirect_uris"] = list(client.post_logout_redirect_uris)
    for name in ("jwks", "jwks_uri", "token_endpoint_auth_signing_alg"):
        if getattr(client, name) is not None:
            body[name] = getattr(client, name)
    return body


def bearer_token(request: Request) -> str | None:
    try:
        return bearer.find_token(request.headers.getlist("authorization"))
    except bearer.NoCredentials:
        return None
    except InvalidRequest as exc:
        raise Refusal(400, "invalid_request", exc.description, exc.rule, exc.spec) from None


async def json_body(request: Request) -> dict[str, Any]:
    ctype = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise Refusal(
            400,
            "invalid_client_metadata",
            "the request body must be a JSON object sent as application/json (RFC 7591 section 3)",
            "check_registration_body",
        )
    try:
        raw = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        raw = None
    if not isinstance(raw, dict):
        raise Refusal(
            400,
            "invalid_client_metadata",
            "the request body is not a JSON object",
            "check_registration_body",
        )
    return raw


def refused(
    state: ServerState, flow: str, request: Request, refusal: Refusal, name: str
) -> Response:
    headers = dict(NO_STORE)
    if refusal.status == 401:
        headers["WWW-Authenticate"] = f'Bearer realm="registration", error="{refusal.error}"'
    check = Check(refusal.rule, "fail", refusal.spec, refusal.description)
    summary = f"Client registration refused: {refusal.error}"
    emit(state, name, flow, summary, check, error=refusal.error)
    body = {"error": refusal.error, "error_description": public(refusal.description)}
    return json_response(body, refusal.status, headers)


def emit(
    state: ServerState,
    name: str,
    flow: str,
    summary: str,
    check: Check,
    *,
    data: Mapping[str, Any] | None = None,
    error: str | None = None,
) -> None:
    """An event of client registration: the client asks the authorization server, back channel."""
    state.emit(
        name,
        flow,
        channel="back",
        source="client",
        target="authorization_server",
        summary=summary,
        checks=(check,),
        data=data,
        error=error,
    )
