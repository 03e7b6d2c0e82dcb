"""RFC 7009 token revocation: a client revokes its own access or refresh token.

Revoking a refresh token ends its whole grant (RFC 7009 §2.1: "SHOULD also invalidate all access
tokens based on the same authorization grant"); revoking an access token revokes that token only.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from valetkey.core.errors import InvalidGrant, InvalidRequest, OAuthError
from valetkey.core.events import Check
from valetkey.core.models import Client
from valetkey.core.token import one
from valetkey.server.client_authentication import authenticate_client
from valetkey.server.http import (
    Params,
    exchange,
    flow_id_of,
    json_response,
    oauth_error_response,
    read_form,
)
from valetkey.server.state import ServerState
from valetkey.server.token_status import FoundAccess, FoundRefresh, find_token

AUTH_SPEC = "RFC 7009 §2.1, RFC 6749 §2.3.1"


async def authenticated_request(
    state: ServerState, request: Request
) -> tuple[Params, Client, str, str | None]:
    """Read the form and authenticate the caller; returns (form, client, token, hint)."""
    form = await read_form(request)
    client = await authenticate_client(state, request, form)
    token = one(form, "token")
    if not token:
        raise InvalidRequest("the token parameter is required")
    return form, client, token, one(form, "token_type_hint")


async def revocation_endpoint(request: Request) -> Response:
    state: ServerState = request.app.state.vk
    basic = request.headers.get("authorization", "").lower().startswith("basic")
    flow_id = flow_id_of(request)
    form: Params = {}
    try:
        form, client, token, hint = await authenticated_request(state, request)
        summary, data = revoke(state, client, token, hint)
    except OAuthError as exc:
        response = oauth_error_response(exc, basic_attempted=basic)
        state.emit(
            "revocation.rejected",
            flow_id,
            channel="back",
            source="client",
            target="authorization_server",
            summary=f"Revocation request rejected: {exc.error}",
            checks=(Check("check_revocation", "fail", exc.spec or AUTH_SPEC, exc.description),),
            http=exchange(request, form, response, exc.body()),
            error=exc.error,
        )
        return response
    # RFC 7009 §2.2: 200 whether the token was revoked or was never valid.
    response = json_response({})
    state.emit(
        "token.revoked" if data.get("revoked") else "revocation.ignored",
        flow_id,
        channel="back",
        source="client",
        target="authorization_server",
        summary=summary,
        checks=(Check("check_client_authentication", "pass", AUTH_SPEC, client.client_id),),
        http=exchange(request, form, response, {}),
        data=data,
    )
    return response


def revoke(
    state: ServerState, client: Client, token: str, hint: str | None
) -> tuple[str, dict[str, object]]:
    now = state.clock.now()
    found = find_token(state, token, hint)
    if found is None:
        return "Revocation of an unknown or invalid token: nothing to do", {"revoked": False}
    if found.record.client_id != client.client_id:
        # RFC 7009 §2.1: the server verifies the token was issued to the requesting client; if not,
        # the request is refused and the client told so. Nothing is changed.
        raise InvalidGrant(
            "this token was not issued to the client making the revocation request",
            spec="RFC 7009 §2.1",
        )
    if isinstance(found, FoundRefresh):
        state.store.revoke_grant(found.record.grant_id, now, "refresh token revoked by the client")
        return (
            "Refresh token revoked: its grant and every access token issued from it are revoked",
            {"revoked": True, "token_type": "refresh_token", "spec": "RFC 7009 §2.1"},
        )
    assert isinstance(found, FoundAccess)
    state.store.revoke_access_token(found.record.jti, now)
    return (
        "Access token revoked",
        {"revoked": True, "token_type": "access_token", "spec": "RFC 7009 §2.1"},
    )
