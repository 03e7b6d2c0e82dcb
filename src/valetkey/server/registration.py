"""Dynamic Client Registration (RFC 7591) at ``/register`` and its management (RFC 7592) at
``/register/{client_id}``. Who may register is ``core.registration``'s decision; what the metadata
may hold is ``core.client_metadata``'s (the same rules as the configuration file)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from valetkey.core import bearer, flows
from valetkey.core import secrets as vsecrets
from valetkey.core.client_assertion import CLIENT_SECRET_JWT, PRIVATE_KEY_JWT
from valetkey.core.client_metadata import ClientMetadata, check_client_metadata
from valetkey.core.errors import InvalidRequest
from valetkey.core.events import Check
from valetkey.core.models import PUBLIC_AUTH, Client
from valetkey.core.registration import (
    MANAGE_SPEC,
    SPEC,
    Refusal,
    RegistrationPolicy,
    admit,
    metadata_refusal,
)
from valetkey.core.text import public
from valetkey.server.http import json_response
from valetkey.server.passwords import stored_secret
from valetkey.server.state import ServerState
from valetkey.server.throttle import (
    Key,
    client_address,
    emit_counted,
    emit_refused,
    with_retry_after,
)

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def policy(state: ServerState) -> RegistrationPolicy:
    return state.registration_policy()


async def registration_endpoint(request: Request) -> Response:
    state: ServerState = request.app.state.vk
    flow = flows.flow_id_from(request.headers.get(flows.FLOW_HEADER))
    counted: Key = ("registration", client_address(request))
    decision = state.throttle.check(counted)
    if not decision.allowed:  # every registration counts: a flood waits, growing delays
        emit_refused(state.emit, flow, decision, "Client registration")
        slow = {"error": "invalid_request", "error_description": public(decision.description)}
        return with_retry_after(json_response(slow, 429, NO_STORE), decision)
    try:
        raw = await _json_body(request)
        token = _bearer(request)
        checked = check_client_metadata(raw)
        if checked.value is None:
            raise metadata_refusal(checked.problems)
        how = admit(policy(state), token, checked.value)
        method = checked.value.token_endpoint_auth_method
        secret = None if method in (PUBLIC_AUTH, PRIVATE_KEY_JWT) else new_secret()
        access = vsecrets.new_token(32)
        client = _store_new(state, checked.value, secret, vsecrets.digest(access))
    except Refusal as refusal:
        return _refused(state, flow, request, refusal, "client.registration_refused")
    emit_counted(state.emit, flow, state.throttle.record_failure(counted))
    now = int(state.clock.now())
    body = {
        **client_json(state, client),
        "client_id_issued_at": now,
        "registration_access_token": access,
    }
    if secret:
        body |= {"client_secret": secret, "client_secret_expires_at": 0}
    state.emit(
        "client.registered",
        flow,
        channel="back",
        source="client",
        target="authorization_server",
        summary=f"A client registered itself ({how.replace('_', ' ')})",
        checks=(Check("check_registration", "pass", SPEC, how),),
        data={"client_id": client.client_id, "public": client.is_public, "admitted_by": how},
    )
    return json_response(body, 201, NO_STORE)


async def client_configuration_endpoint(request: Request) -> Response:
    """RFC 7592: read (GET), replace (PUT) or delete (DELETE) a registration, with its
    registration access token."""
    state: ServerState = request.app.state.vk
    flow = flows.flow_id_from(request.headers.get(flows.FLOW_HEADER))
    client_id = request.path_params.get("client_id", "")
    try:
        client, digest = _registered(state, client_id, _bearer(request))
        if request.method == "GET":
            return json_response(client_json(state, client), 200, NO_STORE)
        if request.method == "DELETE":
            state.store.delete_client(client.client_id)
            _managed(state, flow, "client.deleted", f"Client {client.client_id} deleted itself")
            return Response(status_code=204, headers=NO_STORE)
        raw = await _json_body(request)
        if raw.get("client_id") != client.client_id:
            raise Refusal(
                400,
                "invalid_client_metadata",
                "the body must carry this registration's client_id (RFC 7592 section 2.2)",
                "check_update_client_id",
                MANAGE_SPEC,
            )
        checked = check_client_metadata(raw)
        if checked.value is None:
            raise metadata_refusal(checked.problems)
        if checked.value.token_endpoint_auth_method != client.token_endpoint_auth_method:
            raise Refusal(
                400,
                "invalid_client_metadata",
                "token_endpoint_auth_method cannot change: register a new client instead",
                "check_update_auth_method",
                MANAGE_SPEC,
            )
        if _was_open(state, client):
            admit(policy(state), None, checked.value)
        updated = replace(
            checked.value.client(client.client_id, client.secret_digest),
            secret_sealed=client.secret_sealed,
        )
        state.store.replace_registration(updated, digest)
        _managed(state, flow, "client.updated", f"Client {client.client_id} updated itself")
        return json_response(client_json(state, updated), 200, NO_STORE)
    except Refusal as refusal:
        return _refused(state, flow, request, refusal, "client.management_refused")


def _store_new(
    state: ServerState, metadata: ClientMetadata, secret: str | None, access_digest: str
) -> Client:
    if metadata.token_endpoint_auth_method == CLIENT_SECRET_JWT and state.sealing_key is None:
        raise Refusal(
            400,
            "invalid_client_metadata",
            "this server does not keep client_secret_jwt secrets (its operator has not set "
            "client_secret_key): register with private_key_jwt and your public keys instead",
            "check_client_secret_key",
            "RFC 7591 section 2, OIDC Core section 9",
        )
    method = metadata.token_endpoint_auth_method
    for _ in range(3):  # 96 random bits: a taken client_id is for all purposes impossible
        client_id = "dyn-" + vsecrets.new_token(12)
        digest, sealed = stored_secret(method, client_id, secret, state.sealing_key)
        client = replace(metadata.client(client_id, digest), secret_sealed=sealed)
        if state.store.register_client(client, access_digest):
            return client
    raise RuntimeError("three generated client_ids were taken")


def _was_open(state: ServerState, client: Client) -> bool:
    """A client registered without an initial access token stays within what open registration
    allows: an update is judged as a new open registration would be."""
    return policy(state).mode == "open-native" and client.is_public


def _registered(state: ServerState, client_id: str, token: str | None) -> tuple[Client, str]:
    found = state.store.get_registration(client_id) if token else None
    if found is None or not token or not vsecrets.matches_digest(token, found[1]):
        # One answer for a wrong token, an unknown client and a configured one (RFC 7592 section
        # 2.1): nothing tells a caller which client_ids exist.
        raise Refusal(
            401,
            "invalid_token",
            "the registration access token is missing or not valid for this client",
            "check_registration_access_token",
            MANAGE_SPEC,
        )
    return found


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


def new_secret() -> str:
    return vsecrets.new_token(32)


def _bearer(request: Request) -> str | None:
    try:
        return bearer.find_token(request.headers.getlist("authorization"))
    except bearer.NoCredentials:
        return None
    except InvalidRequest as exc:
        raise Refusal(400, "invalid_request", exc.description, exc.rule, exc.spec) from None


async def _json_body(request: Request) -> dict[str, Any]:
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


def _refused(
    state: ServerState, flow: str, request: Request, refusal: Refusal, name: str
) -> Response:
    headers = dict(NO_STORE)
    if refusal.status == 401:
        headers["WWW-Authenticate"] = f'Bearer realm="registration", error="{refusal.error}"'
    state.emit(
        name,
        flow,
        channel="back",
        source="client",
        target="authorization_server",
        summary=f"Client registration refused: {refusal.error}",
        checks=(Check(refusal.rule, "fail", refusal.spec, refusal.description),),
        error=refusal.error,
    )
    body = {"error": refusal.error, "error_description": public(refusal.description)}
    return json_response(body, refusal.status, headers)


def _managed(state: ServerState, flow: str, name: str, summary: str) -> None:
    state.emit(
        name,
        flow,
        channel="back",
        source="client",
        target="authorization_server",
        summary=summary,
        checks=(Check("check_registration_access_token", "pass", MANAGE_SPEC),),
    )
