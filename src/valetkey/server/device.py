"""The device authorization endpoint (RFC 8628 §3.1-3.2): a device asks for a device code and a
user code; the user enters the code at ``/device`` (``server.device_page``) while the device polls
the token endpoint (``server.device_grant``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from valetkey.core.checks import Rejected
from valetkey.core.device import (
    DeviceAuthorizationContext,
    decide_device_authorization,
    device_authorization_response,
    forgotten_before,
    mint_device_code,
    new_user_code,
    user_code_digest,
)
from valetkey.core.errors import OAuthError
from valetkey.core.events import Check
from valetkey.core.models import Client, DeviceCode, NewDeviceCode
from valetkey.core.throttle import Decision
from valetkey.server import flood
from valetkey.server.client_authentication import authenticate_client
from valetkey.server.http import (
    NO_STORE,
    Params,
    exchange,
    flow_id_of,
    header,
    json_response,
    oauth_error_response,
    read_form,
)
from valetkey.server.state import ServerState
from valetkey.server.throttle import refused_check

VERIFICATION_PATH = "/device"
AUTH_SPEC = "RFC 8628 §3.1, RFC 6749 §2.3.1"


def verification_uri(state: ServerState) -> str:
    return state.issuer + VERIFICATION_PATH


async def _authorized(
    state: ServerState, request: Request, form: Params
) -> tuple[Client, DeviceAuthorizationContext, tuple[Check, ...]]:
    """The authenticated client and the request's decision; raises Rejected on a refusal."""
    try:
        client = await authenticate_client(state, request, form)
    except OAuthError as exc:
        failed = Check(
            "check_client_authentication", "fail", AUTH_SPEC, exc.detail or exc.description
        )
        raise Rejected(exc, (failed,)) from None
    auth = Check(
        "check_client_authentication", "pass", AUTH_SPEC, client.token_endpoint_auth_method
    )
    ctx = DeviceAuthorizationContext(form, client, state.known_scopes, state.resources)
    try:
        checks = decide_device_authorization(ctx)
    except Rejected as rejected:
        raise Rejected(rejected.error, (auth, *rejected.checks)) from None
    return client, ctx, (auth, *checks)


async def device_authorization_endpoint(request: Request) -> Response:
    state: ServerState = request.app.state.vk
    flow_id = flow_id_of(request)
    basic = (header(request, b"authorization") or "").lower().startswith("basic")
    form: Params = {}
    try:
        form = await read_form(request)
        client, ctx, checks = await _authorized(state, request, form)
        over = flood.over_rate(state, request, "device_authorization", client)
    except (OAuthError, Rejected) as failure:
        exc, checks = (
            (failure.error, failure.checks) if isinstance(failure, Rejected) else (failure, ())
        )
        response = oauth_error_response(exc, basic_attempted=basic)
        state.emit(
            "device_authorization.rejected",
            flow_id,
            channel="back",
            source="client",
            target="authorization_server",
            summary=f"Device authorization request rejected: {exc.error}",
            checks=checks,
            http=exchange(request, form, response, exc.body()),
            error=exc.error,
            data={"rule": exc.rule, "spec": exc.spec or "RFC 8628 §3.2"},
        )
        return response
    if over is not None:
        return _flooded(state, request, form, flow_id, over)
    now = state.clock.now()
    ttl, interval = state.settings.device_code_ttl, state.settings.device_poll_interval
    device_code, user_code = mint_device_code(), new_user_code()
    record = DeviceCode(
        device_code_digest=device_code.digest,
        user_code=user_code_digest(user_code),
        client_id=client.client_id,
        scope=ctx.scope,
        audience=ctx.audience,
        issued_at=now,
        expires_at=now + ttl,
        flow_id=flow_id,
    )
    # Written now, not with the answer's batch: the client's cap is counted in the same
    # transaction (store.held), and a refusal must be known before anything is answered.
    capped = state.store.add_device_code(
        NewDeviceCode(record, interval),
        now,
        forgotten_before(now, ttl),
        flood.cap_of(state, "device_code_cap", now),
    )
    if capped is not None:
        return _flooded(state, request, form, flow_id, capped)
    body = device_authorization_response(
        device_code=device_code.value,
        user_code=user_code,
        verification_uri=verification_uri(state),
        expires_in=ttl,
        interval=interval,
    )
    # RFC 8628 §3.2: the response carries the device code: never cached.
    response = json_response(body, headers=NO_STORE)
    state.emit(
        "device_authorization.issued",
        flow_id,
        channel="back",
        source="client",
        target="authorization_server",
        summary="The device received a device code and a user code to show the user",
        checks=checks,
        http=exchange(request, form, response, body),
        data={
            "scope": list(ctx.scope),
            "expires_in": ttl,
            "interval": interval,
            "verification_uri": body["verification_uri"],
            "spec": "RFC 8628 §3.2",
        },
    )
    return response


def _flooded(
    state: ServerState, request: Request, form: Params, flow_id: str, decision: Decision
) -> Response:
    """A rate's or a cap's refusal (server.flood): 429 with Retry-After, and both events."""
    response = flood.refused(state, flow_id, decision)
    state.emit(
        "device_authorization.rejected",
        flow_id,
        channel="back",
        source="client",
        target="authorization_server",
        summary=f"Device authorization request refused: {decision.description}",
        checks=(refused_check(decision),),
        http=exchange(request, form, response, flood.refusal_body(decision)),
        error="invalid_request",
        data={"rule": decision.rule, "spec": decision.spec, "wait": decision.wait},
    )
    return response
