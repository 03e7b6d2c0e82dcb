"""Client registration management (RFC 7592) at ``/register/{client_id}``: a client reads,
replaces or deletes its own registration with the registration access token it was given by
:mod:`valetkey.server.registration` (RFC 7591)."""

from __future__ import annotations

from dataclasses import replace

from starlette.requests import Request
from starlette.responses import Response

from valetkey.core import secrets as vsecrets
from valetkey.core.client_metadata import check_client_metadata
from valetkey.core.events import Check
from valetkey.core.models import Client
from valetkey.core.registration import MANAGE_SPEC, Refusal, admit, metadata_refusal
from valetkey.server.http import flow_id_of, json_response
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


async def client_configuration_endpoint(request: Request) -> Response:
    """RFC 7592: read (GET), replace (PUT) or delete (DELETE) a registration, with its
    registration access token."""
    state: ServerState = request.app.state.vk
    flow = flow_id_of(request)
    client_id = request.path_params.get("client_id", "")
    try:
        client, digest = _registered(state, client_id, bearer_token(request))
        if request.method == "GET":
            return json_response(client_json(state, client), 200, NO_STORE)
        if request.method == "DELETE":
            state.store.delete_client(client.client_id)
            _managed(state, flow, "client.deleted", f"Client {client.client_id} deleted itself")
            return Response(status_code=204, headers=NO_STORE)
        raw = await json_body(request)
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
        return refused(state, flow, request, refusal, "client.management_refused")


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


def _managed(state: ServerState, flow: str, name: str, summary: str) -> None:
    emit(state, name, flow, summary, Check("check_registration_access_token", "pass", MANAGE_SPEC))
