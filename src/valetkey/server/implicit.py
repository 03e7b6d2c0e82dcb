"""The deprecated implicit grant (RFC 6749 §4.2), only where the server and the client both allow it.

RFC 9700 §2.1.2: the access token travels in the URL fragment and can leak; every use is marked.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from valetkey.core import redirect
from valetkey.core.authorize import AuthorizationRequest
from valetkey.core.events import Check
from valetkey.core.models import Client, Issuance, LoginSession, User
from valetkey.server.acting import acting_for
from valetkey.server.http import exchange, with_rows
from valetkey.server.issue import mint_access_token
from valetkey.server.oidc import id_token_for
from valetkey.server.state import ServerState

DEPRECATION = "implicit grant: tokens in the URL fragment can leak (RFC 9700 §2.1.2)"


def issue_implicit(
    state: ServerState,
    request: Request,
    client: Client,
    authz: AuthorizationRequest,
    flow_id: str,
    session: LoginSession,
    checks: tuple[Check, ...] = (),
) -> Response:
    now = state.clock.now()
    state.keys.refresh(now)
    token, record = mint_access_token(
        state,
        client=client,
        sub=session.sub,
        scope=authz.scope,
        audience=authz.audience,
        grant_id=None,
        auth_time=session.auth_time,
        now=now,
    )
    params = {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": str(state.settings.access_token_ttl),
        "scope": " ".join(authz.scope),
    }
    user: User | None = None
    if "openid" in authz.scope:
        user = state.store.get_user(session.sub)
        if user is not None:
            params["id_token"] = id_token_for(
                state, client, user, authz.scope, session.auth_time, authz.nonce, token, now
            )
    if authz.state is not None:
        params["state"] = authz.state
    params["iss"] = state.issuer
    response = with_rows(
        RedirectResponse(
            redirect.with_params(authz.redirect_uri, params, fragment=True), status_code=303
        ),
        Issuance(access=record),
    )
    state.emit(
        "token.issued",
        flow_id,
        channel="front",
        source="authorization_server",
        target="client",
        summary="Implicit grant: access token sent in the URL fragment (deprecated)",
        checks=checks,
        http=exchange(request, None, response),
        data={
            "grant_type": "implicit",
            "scope": list(authz.scope),
            **acting_for(state, user or session.sub),
        },
        deprecated=DEPRECATION,
    )
    return response
