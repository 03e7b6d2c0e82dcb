"""RFC 7662 token introspection for authenticated confidential clients (resource servers included).

An active token yields its claims; anything else (expired, revoked, unknown, malformed, signed by a
key no longer published) yields exactly ``{"active": false}`` (RFC 7662 §2.2).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from valetkey.core import scopes
from valetkey.core.errors import InvalidClient, OAuthError
from valetkey.core.events import Check
from valetkey.server.http import Params, exchange, flow_id_of, json_response, oauth_error_response
from valetkey.server.revoke import authenticated_request
from valetkey.server.state import ServerState
from valetkey.server.token_status import FoundAccess, FoundRefresh, find_token, is_active

SPEC = "RFC 7662 §2.1"
INACTIVE: dict[str, Any] = {"active": False}


async def introspection_endpoint(request: Request) -> Response:
    state: ServerState = request.app.state.vk
    form: Params = {}
    try:
        form, client, token, hint = await authenticated_request(state, request)
        if client.is_public:
            # RFC 7662 §2.1: the endpoint needs authorization; a public client proves nothing.
            raise InvalidClient(
                "introspection is for confidential clients and resource servers; "
                "this client has no credentials",
                spec=SPEC,
            )
    except OAuthError as exc:
        return _rejected(state, request, form, exc)
    body = introspect(state, token, hint)
    response = json_response(body)
    if state.observed:  # with a NullSink, the event's parts (its flow id too) are not even built
        state.emit(
            "token.introspected",
            flow_id_of(request),
            channel="back",
            source="resource_server",
            target="authorization_server",
            summary=f"{client.client_id} introspected a token: "
            + ("active" if body["active"] else "not active"),
            checks=(Check("check_client_authentication", "pass", SPEC, client.client_id),),
            http=exchange(request, form, response, body),
            data={"active": body["active"], "caller": client.client_id},
        )
    return response


def _rejected(state: ServerState, request: Request, form: Params, exc: OAuthError) -> Response:
    basic = request.headers.get("authorization", "").lower().startswith("basic")
    response = oauth_error_response(exc, basic_attempted=basic)
    state.emit(
        "introspection.rejected",
        flow_id_of(request),
        channel="back",
        source="resource_server",
        target="authorization_server",
        summary=f"Introspection request rejected: {exc.error}",
        checks=(Check("check_client_authentication", "fail", SPEC, exc.description),),
        http=exchange(request, form, response, exc.body()),
        error=exc.error,
    )
    return response


def introspect(state: ServerState, token: str, hint: str | None) -> dict[str, Any]:
    now = state.clock.now()
    found = find_token(state, token, hint)
    if found is None or not is_active(found, now):
        return dict(INACTIVE)
    if isinstance(found, FoundAccess):
        return access_claims(found)
    return refresh_claims(state, found)


def access_claims(found: FoundAccess) -> dict[str, Any]:
    c = found.claims
    body: dict[str, Any] = {"active": True}
    for name in ("scope", "client_id", "sub", "aud", "iss", "exp", "iat", "jti", "auth_time"):
        if name in c:
            body[name] = c[name]
    cnf = c.get("cnf")
    if isinstance(cnf, dict) and isinstance(cnf.get("jkt"), str):
        body["cnf"] = {"jkt": cnf["jkt"]}  # RFC 9449 §6.2: the resource checks the proof's key
        body["token_type"] = "DPoP"
    else:
        body["token_type"] = "Bearer"
    return body


def refresh_claims(state: ServerState, found: FoundRefresh) -> dict[str, Any]:
    r, g = found.record, found.grant
    assert g is not None
    body: dict[str, Any] = {
        "active": True,
        "scope": scopes.render(r.scope),
        "client_id": r.client_id,
        "iss": state.issuer,
        "exp": int(r.expires_at),
        "iat": int(r.issued_at),
        "token_type": "refresh_token",
    }
    if g.sub is not None:
        body["sub"] = g.sub
    if g.audience:
        body["aud"] = list(g.audience)
    if r.dpop_jkt:
        body["cnf"] = {"jkt": r.dpop_jkt}
    return body
