"""OpenID Connect UserInfo (OIDC Core §5.3): the claims the granted scopes allow, for a bearer token.

Any valid, unrevoked access token this server issued with the ``openid`` scope is accepted, whatever
its audience: the resource servers forward their users' tokens here to learn who they are.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from valetkey.core.bearer import (
    Credentials,
    NoCredentials,
    find_credentials,
    query_has_token,
    refusal,
)
from valetkey.core.checks import Rejected
from valetkey.core.claims import claims_for_scopes
from valetkey.core.dpop import Presentation, check_presentation, header_values
from valetkey.core.errors import InsufficientScope, InvalidToken, OAuthError
from valetkey.core.models import User
from valetkey.server.acting import acting_for
from valetkey.server.http import flow_id_of, header, json_response, read_form
from valetkey.server.state import ServerState
from valetkey.server.token_status import access_active, find_access_token

SPEC = "OIDC Core §5.3, RFC 6750 §2-3"
REALM = "userinfo"


async def bearer_token(request: Request) -> Credentials:
    """RFC 6750 §2.1 (header; or RFC 9449 §7.1's DPoP scheme) or §2.2 (form body on POST), never
    both: core.bearer decides, as it does for the resource server."""
    in_body: list[str] = []
    ctype = (header(request, b"content-type") or "").split(";")[0].strip().lower()
    if request.method == "POST" and ctype == "application/x-www-form-urlencoded":
        in_body = (await read_form(request)).get("access_token") or []
    return find_credentials(
        [v.decode("latin-1") for k, v in request.scope["headers"] if k == b"authorization"],
        in_query=query_has_token(request.scope.get("query_string", b"")),
        in_body=in_body,
        dpop=True,
    )


async def userinfo_endpoint(request: Request) -> Response:
    state: ServerState = request.app.state.vk
    credentials = Credentials("")
    try:
        credentials = await bearer_token(request)
        user, body = claims_for(state, request, credentials)
    except (OAuthError, NoCredentials) as exc:
        error = exc if isinstance(exc, OAuthError) else None
        code = error.error if error else "no_credentials"
        if state.observed:  # the flow id (a new one unless the client names one) only for events
            state.emit(
                "userinfo.rejected",
                flow_id_of(request),
                channel="back",
                source="client",
                target="authorization_server",
                summary=f"UserInfo request rejected: {code}",
                error=code,
                data={
                    "rule": (error.rule if error else "") or "bearer_credentials",
                    "spec": (error.spec if error else "") or SPEC,
                    "reason": exc.description,
                },
            )
        # RFC 6750 §3: "openid" is the scope a token needs here (OIDC Core §5.3).
        scope = ("openid",) if isinstance(exc, InsufficientScope) else ()
        answer = refusal(
            exc,
            realm=REALM,
            scope=scope,
            dpop_algs=state.dpop_policy.algs,
            scheme=credentials.scheme,
        )
        return json_response(answer.body, status=answer.status, headers=answer.headers)
    if state.observed:  # with a NullSink, the event's parts are not even built
        state.emit(
            "userinfo.returned",
            flow_id_of(request),
            channel="back",
            source="client",
            target="authorization_server",
            summary="UserInfo claims returned: " + ", ".join(sorted(body)),
            data={"claims": sorted(body), **acting_for(state, user)},
        )
    return json_response(body)


def claims_for(
    state: ServerState, request: Request, credentials: Credentials
) -> tuple[User, dict[str, object]]:
    """The token's user and the claims its scopes allow."""
    found = find_access_token(state, credentials.token)
    now = state.clock.now()
    if found is None or not access_active(found, now):
        raise InvalidToken("the access token is invalid, expired or revoked", spec=SPEC)
    presented = Presentation(
        credentials=credentials,
        proofs=header_values(request.scope["headers"]),
        method=request.method,
        url=f"{state.issuer}/userinfo",  # as published in the metadata: never the request's Host
        now=now,
    )
    try:  # RFC 9449 §7: the store remembers proofs for every instance
        check_presentation(presented, found.claims, state.dpop_policy, state.store)
    except Rejected as rejected:
        raise rejected.error from None
    if "openid" not in found.record.scope or found.record.sub is None:
        raise InsufficientScope(
            "userinfo needs an access token granted with the openid scope", spec="OIDC Core §5.3"
        )
    user = state.store.get_user(found.record.sub)
    if user is None:
        raise InvalidToken("the user this token was issued for no longer exists", spec=SPEC)
    return user, claims_for_scopes(user, found.record.scope)
