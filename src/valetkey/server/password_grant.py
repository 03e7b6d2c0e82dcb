"""The deprecated resource owner password grant (RFC 6749 §4.3), opt-in on server and client.

RFC 9700 §2.4: the client sees the user's password; every use is marked deprecated in its event.
"""

from __future__ import annotations

from starlette.requests import Request

from valetkey.core import flows, scopes
from valetkey.core.checks import Rejected
from valetkey.core.errors import InvalidGrant, ThrottledGrant
from valetkey.core.events import Check
from valetkey.core.models import Client, Grant
from valetkey.core.secrets import ordered_id
from valetkey.core.token import PasswordContext, decide_password, one
from valetkey.server.acting import acting_for
from valetkey.server.dpop import TokenProof
from valetkey.server.http import Params
from valetkey.server.issue import mint_for_grant, token_response
from valetkey.server.password_check import check_password
from valetkey.server.state import ServerState
from valetkey.server.throttle import Key, emit_counted, emit_refused, refused_check
from valetkey.server.token_types import Failed, Outcome

DEPRECATION = "password grant: the client handles the user's password (RFC 9700 §2.4)"


async def password_grant(
    state: ServerState,
    request: Request,
    form: Params,
    client: Client,
    header_flow: str | None,
    dpop: TokenProof,
) -> Outcome:
    flow_id = header_flow or flows.new_flow_id()
    ctx = PasswordContext(form, client, state.known_scopes)
    try:
        checks = decide_password(ctx)
    except Rejected as rejected:
        raise Failed(rejected.error, flow_id, rejected.checks) from None
    username, password = one(form, "username") or "", one(form, "password") or ""
    # Only the account is counted: the caller's address is the client's server, shared by all its
    # users, and the client itself is authenticated already.
    key: Key = ("account", username)
    decision = state.throttle.check(key)
    if not decision.allowed:  # refused before any Argon2 work (RFC 6749 §10.10)
        emit_refused(state.emit, flow_id, decision, "Password grant")
        throttled = ThrottledGrant(
            decision.description, retry_after=decision.wait, rule=decision.rule, spec=decision.spec
        )
        raise Failed(throttled, flow_id, (*checks, refused_check(decision)))
    user = state.store.get_user_by_username(username)
    ok = await check_password(state, user, password, flow_id, channel="back", source="client")
    if not ok or user is None:
        emit_counted(state.emit, flow_id, state.throttle.record_failure(key))
        failed = Check(
            "check_user_credentials", "fail", "RFC 6749 §4.3.2", "wrong username or password"
        )
        raise Failed(InvalidGrant("the username or password is wrong"), flow_id, (*checks, failed))
    if decision.failures:
        state.throttle.record_success(key)
    checks = (*checks, Check("check_user_credentials", "pass", "RFC 6749 §4.3.2", "Argon2id"))
    now = state.clock.now()
    grant = Grant(
        grant_id=ordered_id(),
        client_id=client.client_id,
        sub=user.sub,
        scope=ctx.scope,
        audience=scopes.audience_for(ctx.scope, state.resources),
        created_at=now,
        flow_id=flow_id,
        auth_time=now,
    )
    minted = mint_for_grant(
        state, client=client, grant=grant, scope=ctx.scope, now=now, new_grant=True, jkt=dpop.jkt
    )
    body = token_response(state, minted, ctx.scope)
    if "openid" in ctx.scope:
        from valetkey.server.oidc import id_token_for

        body["id_token"] = id_token_for(
            state, client, user, ctx.scope, now, None, minted.access_token, now
        )
    return Outcome(
        body,
        flow_id,
        checks,
        {
            "grant_type": "password",
            "scope": list(ctx.scope),
            "deprecated": DEPRECATION,
            **acting_for(state, user),
        },
        rows=(minted.issuance,),
    )
