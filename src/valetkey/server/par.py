"""The pushed authorization request endpoint (RFC 9126): the client authenticates as at the token
endpoint and pushes its authorization request; the request is judged now, by the same rules as
at /authorize (``core.authorize``), and stored for 60 s under a one-time ``request_uri``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from valetkey.core import par
from valetkey.core.authorize import validate_authorization_request
from valetkey.core.checks import Rejected
from valetkey.core.errors import OAuthError
from valetkey.core.events import Check
from valetkey.core.throttle import Decision
from valetkey.server import flood
from valetkey.server.authorize import rules_context
from valetkey.server.client_authentication import authenticate_client
from valetkey.server.dpop import pushed_request_proof, refusal_headers
from valetkey.server.http import (
    Params,
    exchange,
    flow_id_of,
    json_response,
    oauth_error_response,
    read_form,
)
from valetkey.server.state import ServerState
from valetkey.server.throttle import refused_check

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# The client's credentials are for this endpoint only: never stored with the request.
CREDENTIALS = ("client_secret", "client_assertion", "client_assertion_type")


async def par_endpoint(request: Request) -> Response:
    state: ServerState = request.app.state.vk
    flow_id = flow_id_of(request)
    basic = request.headers.get("authorization", "").lower().startswith("basic")
    form: Params = {}
    checks: tuple[Check, ...] = ()
    try:
        form = await read_form(request)
        client = await authenticate_client(state, request, form, flow_id)
        par.check_pushed_params(form, client.client_id)
        proof = pushed_request_proof(state, request, endpoint_url(state))
        checks = proof.checks
        pushed = par.bind_dpop_key(
            {k: v for k, v in form.items() if k not in CREDENTIALS}, proof.jkt
        )
        pushed["client_id"] = [client.client_id]
        _, validated = validate_authorization_request(rules_context(state, pushed, client))
        checks = (*checks, *validated)
        over = flood.over_rate(state, request, "pushed_request", client)
    except Rejected as rejected:
        checks = (*checks, *rejected.checks)
        return _refused(state, request, form, flow_id, rejected.error, checks, basic)
    except OAuthError as exc:
        check = Check(
            exc.rule or "check_pushed_request", "fail", exc.spec or par.SPEC, exc.description
        )
        return _refused(state, request, form, flow_id, exc, (*checks, check), basic)
    if over is not None:
        return _flooded(state, request, form, flow_id, over, checks)
    now = state.clock.now()
    ttl = state.settings.pushed_request_ttl
    request_uri = par.new_request_uri()
    digest = par.digest_of(request_uri)
    assert digest is not None
    cap = flood.cap_of(state, "pushed_request_cap", now)
    capped = state.store.push_request(digest, client.client_id, pushed, now + ttl, now, cap)
    if capped is not None:
        return _flooded(state, request, form, flow_id, capped, checks)
    body = {"request_uri": request_uri, "expires_in": ttl}
    response = json_response(body, 201, NO_STORE)
    state.emit(
        "authorization_request.pushed",
        flow_id,
        channel="back",
        source="client",
        target="authorization_server",
        summary="The client pushed its authorization request and got a one-time request_uri",
        checks=checks,
        http=exchange(request, form, response, {"expires_in": ttl}),
        data={"client_id": client.client_id, "spec": "RFC 9126 section 2.2"},
    )
    return response


def _refused(
    state: ServerState,
    request: Request,
    form: Params,
    flow_id: str,
    exc: OAuthError,
    checks: tuple[Check, ...],
    basic: bool,
) -> Response:
    response = oauth_error_response(exc, basic_attempted=basic)
    response.headers.update(NO_STORE)
    response.headers.update(refusal_headers(state, exc))  # a nonce to use (RFC 9449 section 8)
    state.emit(
        "authorization_request.push_refused",
        flow_id,
        channel="back",
        source="client",
        target="authorization_server",
        summary=f"Pushed authorization request refused: {exc.error}",
        checks=checks,
        http=exchange(request, form, response, exc.body()),
        error=exc.error,
    )
    return response


def _flooded(
    state: ServerState,
    request: Request,
    form: Params,
    flow_id: str,
    decision: Decision,
    checks: tuple[Check, ...],
) -> Response:
    """A rate's or a cap's refusal (server.flood): 429 with Retry-After (RFC 9126 section 2.3),
    and both events."""
    response = flood.refused(state, flow_id, decision)
    state.emit(
        "authorization_request.push_refused",
        flow_id,
        channel="back",
        source="client",
        target="authorization_server",
        summary=f"Pushed authorization request refused: {decision.description}",
        checks=(*checks, refused_check(decision)),
        http=exchange(request, form, response, flood.refusal_body(decision)),
        error="invalid_request",
        data={"rule": decision.rule, "spec": decision.spec, "wait": decision.wait},
    )
    return response


def endpoint_url(state: ServerState) -> str:
    return par.endpoint_url(state.issuer)
