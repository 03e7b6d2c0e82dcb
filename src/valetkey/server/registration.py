"""Dynamic Client Registration (RFC 7591) at ``/register``; its management (RFC 7592) at
``/register/{client_id}`` is :mod:`valetkey.server.registration_management`. Who may register is
``core.registration``'s decision; what the metadata may hold is ``core.client_metadata``'s (the
same rules as the configuration file)."""

from __future__ import annotations

from dataclasses import replace

from starlette.requests import Request
from starlette.responses import Response

from valetkey.core import secrets as vsecrets
from valetkey.core.client_metadata import ClientMetadata, check_client_metadata
from valetkey.core.events import Check
from valetkey.core.models import CLIENT_SECRET_JWT, PRIVATE_KEY_JWT, PUBLIC_AUTH, Client
from valetkey.core.registration import SPEC, Refusal, admit, metadata_refusal
from valetkey.core.text import public
from valetkey.server.http import flow_id_of, json_response
from valetkey.server.passwords import stored_secret
from valetkey.server.registration_http import (
    NO_STORE,
    bearer_token,
    client_json,
    emit,
    json_body,
    policy,
    refused,
)
from valetkey.server.state import ServerState
from valetkey.server.throttle import (
    Key,
    client_address,
    emit_counted,
    emit_refused,
    with_retry_after,
)


async def registration_endpoint(request: Request) -> Response:
    state: ServerState = request.app.state.vk
    flow = flow_id_of(request)
    counted: Key = ("registration", client_address(request))
    decision = state.throttle.check(counted)
    if not decision.allowed:  # every registration counts: a flood waits, growing delays
        emit_refused(state.emit, flow, decision, "Client registration")
        slow = {"error": "invalid_request", "error_description": public(decision.description)}
        return with_retry_after(json_response(slow, 429, NO_STORE), decision)
    try:
        raw = await json_body(request)
        token = bearer_token(request)
        checked = check_client_metadata(raw)
        if checked.value is None:
            raise metadata_refusal(checked.problems)
        how = admit(policy(state), token, checked.value)
        method = checked.value.token_endpoint_auth_method
        secret = None if method in (PUBLIC_AUTH, PRIVATE_KEY_JWT) else new_secret()
        access = vsecrets.new_token(32)
        client = _store_new(state, checked.value, secret, vsecrets.digest(access))
    except Refusal as refusal:
        return refused(state, flow, request, refusal, "client.registration_refused")
    emit_counted(state.emit, flow, state.throttle.record_failure(counted))
    now = int(state.clock.now())
    body = {
        **client_json(state, client),
        "client_id_issued_at": now,
        "registration_access_token": access,
    }
    if secret:
        body |= {"client_secret": secret, "client_secret_expires_at": 0}
    emit(
        state,
        "client.registered",
        flow,
        f"A client registered itself ({how.replace('_', ' ')})",
        Check("check_registration", "pass", SPEC, how),
        data={"client_id": client.client_id, "public": client.is_public, "admitted_by": how},
    )
    return json_response(body, 201, NO_STORE)


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


def new_secret() -> str:
    return vsecrets.new_token(32)
