"""The demo client's redirect URI: check state and iss, then redeem the code (or refuse)."""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from valetkey.core.events import Check, HttpExchange
from valetkey.core.flows import new_flow_id
from valetkey.demo.app import DemoClient, client_of
from valetkey.demo.events import redact_url
from valetkey.demo.oauth import DemoError
from valetkey.demo.session import Pending, Session

WHY = {
    "check_state": "This browser did not start that login, so the client will not redeem the code.",
    "check_iss": "The response names another authorization server (a mix-up attack?), so the "
    "client will not redeem the code.",
}


async def handle_callback(request: Request) -> Response:
    client = client_of(request)
    session = client.session(request)
    q = request.query_params
    state = q.get("state")
    flow_id = client.sessions.flow_for_state(state) or new_flow_id()
    pending = session.pending.pop(state, None) if state else None
    checks = (state_check(pending, session), iss_check(q.get("iss"), client.config.issuer))
    exchange = HttpExchange("GET", redact_url(str(request.url)), status=303)
    failed = [c for c in checks if c.outcome == "fail"]
    if q.get("error"):
        response = _server_said_no(client, request, session, flow_id, checks, exchange)
    elif failed or not q.get("code"):
        response = _refuse(client, request, session, flow_id, checks, failed)
    else:
        response = await _redeem(client, session, pending, flow_id, checks, exchange, q["code"])
    return client.keep(response, session)


def _server_said_no(
    client: DemoClient,
    request: Request,
    session: Session,
    flow_id: str,
    checks: tuple[Check, ...],
    exchange: HttpExchange,
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
        http=exchange,
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
    failed: list[Check],
) -> Response:
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
    session: Session,
    pending: Pending | None,
    flow_id: str,
    checks: tuple[Check, ...],
    exchange: HttpExchange,
    code: str,
) -> Response:
    insecure = None
    if pending is None:  # INSECURE demo: the state check is switched off, so trust any code
        insecure = "the client skipped the state check"
        reg = client.config.confidential
        pending = Pending("", flow_id, "confidential", reg.client_id, False, None, None, None, "")
    client.emit(
        "callback.received",
        flow_id,
        channel="front",
        source="browser",
        target="client",
        summary="Callback with code and state"
        + (" (state NOT checked)" if insecure else ": state matches"),
        checks=checks,
        http=exchange,
        data={"insecure": insecure} if insecure else {},
    )
    try:
        await client.oauth.redeem(session, pending, code)
        if pending.openid:
            await client.oauth.userinfo(session)
        await client.oauth.call_api(session, "GET", "/api/profile")
    except DemoError as exc:
        session.message = f"Token request failed: {exc}"
    return RedirectResponse("/", status_code=303)


def state_check(pending: Pending | None, session: Session) -> Check:
    spec = "RFC 6749 §10.12, RFC 9700 §4.7"
    if pending is not None:
        return Check("check_state", "pass", spec, "state matches the request this browser started")
    if session.skip_state_check:
        return Check(
            "check_state", "skip", spec, "INSECURE demo client: the state check is switched off"
        )
    return Check("check_state", "fail", spec, "state does not match any login this browser started")


def iss_check(iss: str | None, issuer: str) -> Check:
    spec = "RFC 9207 §2.4"
    if iss is None:
        return Check("check_iss", "skip", spec, "no iss parameter")
    ok = hmac.compare_digest(iss.encode(), issuer.encode())
    detail = f"iss={iss}" + ("" if ok else f", expected {issuer}")
    return Check("check_iss", "pass" if ok else "fail", spec, detail)
