"""OpenID Connect UserInfo (OIDC Core §5.3): the claims the granted scopes allow, for a bearer token.

Any valid, unrevoked access token this server issued with the ``openid`` scope is accepted, whatever
its audience: the resource servers forward their users' tokens here to learn who they are.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from valetkey.core import flows
from valetkey.core.errors import InsufficientScope, InvalidRequest, InvalidToken, OAuthError
from valetkey.server.http import json_response, read_form
from valetkey.server.oidc import claims_for_scopes
from valetkey.server.state import ServerState
from valetkey.server.token_status import access_active, find_access_token

SPEC = "OIDC Core §5.3, RFC 6750 §2-3"


async def bearer_token(request: Request) -> str | None:
    """RFC 6750 §2.1 (header) or §2.2 (form body on POST); never both."""
    header = request.headers.get("authorization")
    from_body = None
    if request.method == "POST":
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype == "application/x-www-form-urlencoded":
            values = (await read_form(request)).get("access_token") or []
            if len(values) > 1:
                raise InvalidRequest("access_token is repeated")
            from_body = values[0] if values else None
    if header is not None:
        if from_body is not None:
            raise InvalidRequest("send the access token in one place only (RFC 6750 §2)")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise InvalidRequest("the Authorization header must be 'Bearer <access token>'")
        return value.strip()
    return from_body


def challenge(exc: OAuthError | None) -> str:
    if exc is None:
        return 'Bearer realm="userinfo"'
    desc = exc.description.replace('"', "'")
    value = f'Bearer realm="userinfo", error="{exc.error}", error_description="{desc}"'
    if isinstance(exc, InsufficientScope):
        value += ', scope="openid"'  # RFC 6750 §3: the scope the request needs
    return value


def no_token_response() -> Response:
    """RFC 6750 §3.1: no credentials -> 401 with a bare challenge and no error code in it."""
    return json_response(
        {"error": "invalid_token", "error_description": "a bearer access token is required"},
        status=401,
        headers={"WWW-Authenticate": challenge(None)},
    )


async def userinfo_endpoint(request: Request) -> Response:
    state: ServerState = request.app.state.vk
    flow_id = flows.flow_id_from(request.headers.get(flows.FLOW_HEADER))
    try:
        token = await bearer_token(request)
        if token is None:
            return no_token_response()
        body = claims_for(state, token)
    except OAuthError as exc:
        status = 400 if isinstance(exc, InvalidRequest) else exc.status
        state.emit(
            "userinfo.rejected",
            flow_id,
            channel="back",
            source="client",
            target="authorization_server",
            summary=f"UserInfo request rejected: {exc.error}",
            error=exc.error,
            data={"spec": exc.spec or SPEC},
        )
        return json_response(
            exc.body(), status=status, headers={"WWW-Authenticate": challenge(exc)}
        )
    state.emit(
        "userinfo.returned",
        flow_id,
        channel="back",
        source="client",
        target="authorization_server",
        summary="UserInfo claims returned: " + ", ".join(sorted(body)),
        data={"claims": sorted(body)},
    )
    return json_response(body)


def claims_for(state: ServerState, token: str) -> dict[str, object]:
    found = find_access_token(state, token)
    if found is None or not access_active(found, state.clock.now()):
        raise InvalidToken("the access token is invalid, expired or revoked", spec=SPEC)
    if "openid" not in found.record.scope or found.record.sub is None:
        raise InsufficientScope(
            "userinfo needs an access token granted with the openid scope", spec="OIDC Core §5.3"
        )
    user = state.store.get_user(found.record.sub)
    if user is None:
        raise InvalidToken("the user this token was issued for no longer exists", spec=SPEC)
    return claims_for_scopes(user, found.record.scope)
