"""The demo client's redirect URI: the library checks state and iss, then redeems the code."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from valetkey.client import SecurityCheckFailed, Skip, callback_checks
from valetkey.core.events import Check, HttpExchange
from valetkey.core.flows import new_flow_id
from valetkey.demo.base import DemoClient, client_of
from valetkey.demo.events import redact_url
from valetkey.demo.oauth import DemoError
from valetkey.demo.session import Pending, Session

WHY = {
    "check_state": "This browser did not start that login, so the client will not redeem the code.",
    "check_iss": "The response names another authorization server (a mix-up attack?), so the "
    "client will not redeem the code.",
}
SKIP_STATE = Skip("state", "INSECURE demo client: the state check is switched off")


def skips(session: Session) -> tuple[Skip, ...]:
    """The rules this browser's session skips on purpose (only the login CSRF demo sets one)."""
    return (SKIP_STATE,) if session.skip_state_check else ()


async def handle_callback(request: Request) -> Response:
    client = client_of(request)
    session = client.session(request)
    params = dict(request.query_params)
    state = params.get("state")
    flow_id = client.sessions.flow_for_state(state) or new_flow_id()
    found = session.pending.pop(state, None) if state else None
    # A callback for no login of this browser: compared with nothing it could match.
    pending = found or await client.oauth.unsolicited("confidential", flow_id)
    try:
        checks = callback_checks(pending.request, params, pending.client, skip=skips(session))
    except SecurityCheckFailed as exc:
        response = _refuse(client, request, session, flow_id, exc.checks)
    else:
        if params.get("error"):
            response = _server_said_no(client, request, session, flow_id, checks)
        elif not params.get("code"):
            response = _refuse(client, request, session, flow_id, checks)
        else:
            response = await _redeem(client, request, session, pending, checks, params)
    return client.keep(response, session)


def _server_said_no(
    client: DemoClient,
    request: Request,
    session: Session,
    flow_id: str,
    checks: tuple[Check, ...],
) -> Response:
    q = request.query_params
    client.emit(
        "callback.received",
        flow_id,
        channel="front",
        source="browser",
        target="client",
        summary=f"The server sent an error: {q.get('error')}",
        checks=checks,
        http=HttpExchange("GET", redact_url(str(request.url)), status=303),
        error=q.get("error"),
        data={"error_description": q.get("error_description")},
    )
    detail = f"{q.get('error')}: {q.get('error_description', '')}"
    return client.page(
        request,
        session,
        "error.html",
        status=400,
        title="The authorization server said no",
        detail=detail,
    )


def _refuse(
    client: DemoClient,
    request: Request,
    session: Session,
    flow_id: str,
    checks: tuple[Check, ...],
) -> Response:
    failed = [c for c in checks if c.outcome == "fail"]
    reason = failed[0].detail if failed else "the callback had no code"
    client.emit(
        "callback.rejected",
        flow_id,
        channel="front",
        source="browser",
        target="client",
        summary="Callback refused: " + reason,
        checks=checks,
        http=HttpExchange("GET", redact_url(str(request.url)), status=400),
        error="invalid_callback",
    )
    why = WHY.get(failed[0].rule, "") if failed else ""
    return client.page(
        request,
        session,
        "error.html",
        status=400,
        title="Login refused",
        detail=f"{reason}. {why}".strip(),
    )


async def _redeem(
    client: DemoClient,
    request: Request,
    session: Session,
    pending: Pending,
    checks: tuple[Check, ...],
    params: dict[str, str],
) -> Response:
    skipped = [c for c in checks if c.outcome == "skip"]
    client.emit(
        "callback.received",
        pending.flow_id,
        channel="front",
        source="browser",
        target="client",
        summary="Callback with code and state"
        + (" (state NOT checked)" if skipped else ": state matches"),
        checks=checks,
        http=HttpExchange("GET", redact_url(str(request.url)), status=303),
        data={"insecure": "the client skipped the state check"} if skipped else {},
    )
    try:
        await client.oauth.redeem(session, pending, params, skips(session))
        if pending.client.wants_openid:
            await client.api.userinfo(session)
        await client.api.call(session, "GET", "/api/profile")
    except DemoError as exc:
        session.message = f"Token request failed: {exc}"
    return RedirectResponse("/", status_code=303)
