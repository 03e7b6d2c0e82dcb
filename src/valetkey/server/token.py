"""The token endpoint (RFC 6749 §3.2, §4.1.3, §4.4, §6): authenticate the client, then one grant."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from valetkey.core import flows
from valetkey.core import secrets as vsecrets
from valetkey.core.checks import Rejected
from valetkey.core.device import DEVICE_CODE_GRANT
from valetkey.core.errors import OAuthError
from valetkey.core.events import Check
from valetkey.core.grant_types import check_grant_type
from valetkey.core.lazy import on_first_call
from valetkey.core.models import AuthorizationCode, Client, Grant, Issuance, RefreshToken, User
from valetkey.core.revocation import Refused, Revocation
from valetkey.core.token import (
    ClientCredentialsContext,
    CodeContext,
    RefreshContext,
    decide_authorization_code,
    decide_client_credentials,
    decide_refresh,
    one,
)
from valetkey.server.acting import acting_for
from valetkey.server.client_authentication import authenticate_client
from valetkey.server.dpop import (
    TokenProof,
    refusal_headers,
    success_headers,
    token_request_proof,
)
from valetkey.server.http import (
    FLOW_HEADER,
    Params,
    exchange,
    header,
    json_response,
    oauth_error_response,
    read_form,
    with_rows,
)
from valetkey.server.issue import (
    Minted,
    grant_id_token,
    mint_access_token,
    mint_redeemed,
    token_response,
)
from valetkey.server.state import ServerState
from valetkey.server.token_types import Failed, Outcome

GrantHandler = Callable[
    [ServerState, Request, Params, Client, str | None, TokenProof], Awaitable[Outcome]
]


async def token_endpoint(request: Request) -> Response:
    state: ServerState = request.app.state.vk
    header_flow = flows.accept_flow_header(header(request, FLOW_HEADER))
    basic = (header(request, b"authorization") or "").lower().startswith("basic")
    form: Params = {}
    flow_id = header_flow  # a new one is made only for an event
    checks: tuple[Check, ...] = ()
    try:
        form = await read_form(request)
        handler = grant_handler(state, form)
        try:
            client = await authenticate_client(state, request, form, header_flow)
        except OAuthError as exc:
            checks = (
                Check(
                    "check_client_authentication",
                    "fail",
                    "RFC 6749 §2.3.1, §3.2.1",
                    exc.detail or exc.description,
                ),
            )
            raise
        auth_check = Check(
            "check_client_authentication",
            "pass",
            "RFC 6749 §2.3.1, §3.2.1",
            client.token_endpoint_auth_method,
        )
        try:
            dpop = token_request_proof(state, request, client)
        except Rejected as rejected:  # RFC 9449 §5: before the grant is looked at
            checks = (auth_check, *rejected.checks)
            raise rejected.error from None
        state.keys.refresh(state.clock.now())  # outside the store transaction the grant opens
        try:
            outcome = await handler(state, request, form, client, header_flow, dpop)
        except Failed as failed:
            flow_id, checks = failed.flow_id, (auth_check, *dpop.checks, *failed.checks)
            raise failed.error from None
    except OAuthError as exc:
        response = oauth_error_response(exc, basic_attempted=basic)
        response.headers.update(refusal_headers(state, exc))
        state.emit(
            "token.rejected",
            flow_id or flows.new_flow_id(),
            channel="back",
            source="client",
            target="authorization_server",
            summary=f"Token request rejected: {exc.error}",
            checks=checks,
            http=exchange(request, form, response, exc.body()),
            error=exc.error,
            data={
                "grant_type": (form.get("grant_type") or [""])[0],
                "rule": exc.rule,
                "spec": exc.spec,
            },
        )
        return response
    response = with_rows(json_response(outcome.body, headers=success_headers(dpop)), *outcome.rows)
    if state.observed:  # with a NullSink, the event's parts are not even built
        state.emit(
            "token.issued",
            outcome.flow_id or flows.new_flow_id(),
            channel="back",
            source="client",
            target="authorization_server",
            summary=f"Tokens issued ({form['grant_type'][0]})",
            checks=(auth_check, *dpop.checks, *outcome.checks),
            http=exchange(request, form, response, outcome.body),
            data={"client_id": client.client_id, **outcome.data},
            deprecated=outcome.data.get("deprecated"),
        )
    return response


async def authorization_code_grant(
    state: ServerState,
    request: Request,
    form: Params,
    client: Client,
    header_flow: str | None,
    dpop: TokenProof,
) -> Outcome:
    code_value = one(form, "code") or ""
    now = state.clock.now()
    seen: dict[str, Any] = {}

    def decide(code: AuthorizationCode | None, replayed: bool) -> Issuance:
        ctx = CodeContext(
            form, client, code, now, replayed, resources=state.resources, dpop_jkt=dpop.jkt
        )
        seen["flow"] = code.flow_id if code else None
        seen["sub"] = code.sub if code else None  # whom a revocation acts for
        seen["checks"] = decide_authorization_code(ctx)
        assert code is not None
        seen["code"] = code
        return mint_redeemed(
            state,
            seen,
            client=client,
            grant=code.grant(),
            scope=ctx.scope,
            audience=ctx.audience,
            id_scope=code.scope,
            now=now,
            jkt=dpop.jkt,
        )

    try:
        state.store.redeem_code(vsecrets.digest(code_value), now, decide) if code_value else decide(
            None, False
        )
    except Rejected as rejected:
        flow = header_flow or seen.get("flow") or flows.new_flow_id()
        if isinstance(rejected, Refused):
            emit_revoked(state, flow, rejected.revocation, seen.get("sub"))
        raise Failed(rejected.error, flow, rejected.checks) from None
    minted: Minted = seen["minted"]
    code: AuthorizationCode = seen["code"]
    body = token_response(state, minted, seen["scope"])
    body.update(_id_token(state, client, code, seen["user"], minted, now))
    return Outcome(
        body,
        header_flow or code.flow_id,
        seen["checks"],
        {
            "grant_type": "authorization_code",
            "scope": list(seen["scope"]),
            "refresh": minted.refresh_token is not None,
            **seen["acting"],
        },
    )


def _id_token(
    state: ServerState,
    client: Client,
    code: AuthorizationCode,
    user: User | None,
    minted: Minted,
    now: float,
) -> dict[str, Any]:
    if user is None:
        return {}
    from valetkey.server.oidc import id_token_for

    return {
        "id_token": id_token_for(
            state, client, user, code.scope, code.auth_time, code.nonce, minted.access_token, now
        )
    }


async def refresh_token_grant(
    state: ServerState,
    request: Request,
    form: Params,
    client: Client,
    header_flow: str | None,
    dpop: TokenProof,
) -> Outcome:
    value = one(form, "refresh_token") or ""
    now = state.clock.now()
    flow_id = header_flow or (flows.token_flow_id(value) if value else flows.new_flow_id())
    seen: dict[str, Any] = {}

    def decide(token: RefreshToken | None, grant: Grant | None, reused: bool) -> Issuance:
        ctx = RefreshContext(
            form, client, token, grant, now, reused, resources=state.resources, dpop_jkt=dpop.jkt
        )
        seen["sub"] = grant.sub if grant else None  # whom a revocation acts for
        seen["checks"] = decide_refresh(ctx)
        assert grant is not None
        seen["grant"] = grant
        return mint_redeemed(
            state,
            seen,
            client=client,
            grant=grant,
            scope=ctx.scope,
            audience=ctx.audience,
            id_scope=ctx.scope,
            now=now,
            with_refresh=True,
            jkt=dpop.jkt,
        )

    try:
        state.store.rotate_refresh(vsecrets.digest(value), now, decide) if value else decide(
            None, None, False
        )
    except Rejected as rejected:
        if isinstance(rejected, Refused):
            emit_revoked(state, flow_id, rejected.revocation, seen.get("sub"))
        raise Failed(rejected.error, flow_id, rejected.checks) from None
    minted, grant, scope = seen["minted"], seen["grant"], seen["scope"]
    body = token_response(state, minted, scope)
    body.update(grant_id_token(state, client, grant, seen["user"], scope, minted, now))
    state.emit(
        "refresh_token.rotated",
        flow_id,
        channel="back",
        source="authorization_server",
        target="client",
        summary="The refresh token was used once and replaced with a new one",
        data={
            "grant_id": grant.grant_id[:6] + "…",
            "spec": "RFC 9700 §4.14.2",
            **seen["acting"],
        },
    )
    return Outcome(
        body,
        flow_id,
        seen["checks"],
        {"grant_type": "refresh_token", "scope": list(scope), **seen["acting"]},
    )


async def client_credentials_grant(
    state: ServerState,
    request: Request,
    form: Params,
    client: Client,
    header_flow: str | None,
    dpop: TokenProof,
) -> Outcome:
    flow_id = header_flow
    ctx = ClientCredentialsContext(form, client, state.known_scopes, resources=state.resources)
    try:
        checks = decide_client_credentials(ctx)
    except Rejected as rejected:
        raise Failed(rejected.error, flow_id, rejected.checks) from None
    now = state.clock.now()
    audience = ctx.audience
    token, record = mint_access_token(
        state,
        client=client,
        sub=None,
        scope=ctx.scope,
        audience=audience,
        grant_id=None,
        auth_time=None,
        now=now,
        jkt=dpop.jkt,
    )
    minted = Minted(Issuance(access=record), token, None, {}, "DPoP" if dpop.jkt else "Bearer")
    return Outcome(
        token_response(state, minted, ctx.scope),
        flow_id,
        checks,
        {"grant_type": "client_credentials", "scope": list(ctx.scope)},
        rows=(minted.issuance,),
    )


# The device flow's grant and the deprecated password grant are imported by their first request
# (most servers never see either, and start-up loads neither).
device_code_grant: GrantHandler = on_first_call("valetkey.server.device_grant", "device_code_grant")
password_grant: GrantHandler = on_first_call("valetkey.server.password_grant", "password_grant")


# One handler per grant type of the core's table (core/grant_types.py), which decides which are on.
GRANTS: dict[str, GrantHandler] = {
    "authorization_code": authorization_code_grant,
    "refresh_token": refresh_token_grant,
    "client_credentials": client_credentials_grant,
    "password": password_grant,
    DEVICE_CODE_GRANT: device_code_grant,
}


def grant_handler(state: ServerState, form: Params) -> GrantHandler:
    """The handler of the grant type the request names; raises OAuthError if it is not offered."""
    allow = state.settings.allow_deprecated_grants
    return GRANTS[check_grant_type(form, allow_deprecated=allow).name]


def emit_revoked(state: ServerState, flow_id: str, revocation: Revocation, sub: str | None) -> None:
    """The event for a decision that revoked a grant, told by the decision's type; it names the
    grant's user (``sub``), whose tokens it ended."""
    if not state.observed:
        return
    state.emit(
        "grant.revoked",
        flow_id,
        channel="local",
        source="authorization_server",
        target="authorization_server",
        summary=revocation.summary,
        data={"reason": revocation.reason, "spec": revocation.spec, **acting_for(state, sub)},
    )
