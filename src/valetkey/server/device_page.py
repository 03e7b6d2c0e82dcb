"""``/device``, the verification URI (RFC 8628 §3.3): the user enters the code their device shows,
signs in (the same sign-in and session as ``/authorize``) and allows or denies the device.

The user code is a guessing target (§5.1): every code that finds no pending device is counted per
client address by the guessing defences (``user_code`` throttle, shared by every instance) and
refused with an event naming the rule; past the free failures, entries wait (429, Retry-After)
before any code is looked up.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from valetkey.core.device import user_code_digest
from valetkey.core.errors import OAuthError
from valetkey.core.models import DeviceCode
from valetkey.core.secrets import ordered_id
from valetkey.server import device_views as views
from valetkey.server import pages
from valetkey.server.acting import acting_for
from valetkey.server.authorize import first_param
from valetkey.server.device_entry import (
    Refusal,
    find_pending,
)
from valetkey.server.http import Params, exchange, read_form
from valetkey.server.interaction import csrf_refusal, emit_signed_in, sign_in
from valetkey.server.state import ServerState
from valetkey.server.throttle import (
    Key,
    client_address,
    emit_counted,
    emit_refused,
    with_retry_after,
)

# Refused codes belong to no device's flow: the inspector shows them together, as one would see
# a guessing attack.
REFUSALS_FLOW = "device-user-code-refusals"


async def device_page(request: Request) -> Response:
    state: ServerState = request.app.state.vk
    if request.method == "GET":
        return views.entry_page(state, request, typed=request.query_params.get("user_code", ""))
    try:
        form = await read_form(request)
    except OAuthError as exc:
        return pages.error_page(
            state, request, "This request cannot continue", exc.description, exc.error
        )
    refused = csrf_refusal(state, request, form, views.CSRF_PURPOSE)
    if refused is not None:
        return refused
    typed = first_param(form, "user_code") or ""
    key: Key = ("user_code", client_address(request))
    decision = state.throttle.check(key)
    if not decision.allowed:  # RFC 8628 §5.1: refused before the code is even looked up
        emit_refused(state.emit, REFUSALS_FLOW, decision, "User code entry")
        page = views.entry_page(
            state,
            request,
            typed=typed,
            error=f"Too many wrong codes: try again in {decision.in_words}.",
            status=429,
        )
        return with_retry_after(page, decision)
    found = find_pending(state, typed)
    if isinstance(found, Refusal):
        return _refuse(state, request, form, typed, found)
    code, record = found.code, found.record
    step = first_param(form, "step")
    if step == "login":
        return await _login(state, request, form, code, record)
    session = pages.current_session(state, request)
    if step == "code" and state.observed:  # nothing of the event is built unobserved
        state.emit(
            "device.user_code_entered",
            record.flow_id,
            channel="front",
            source="user",
            target="authorization_server",
            summary="The user entered the code their device shows",
            checks=found.checks,
            http=exchange(request, form, None),
            # Entered by whoever this browser is signed in as, if anyone.
            data={"spec": "RFC 8628 §3.3", **acting_for(state, session.sub if session else None)},
        )
    if session is None:
        return views.login_page(state, request, record, code)
    if step == "decide":
        return _decide(state, request, form, code, record, session.sub, session.auth_time)
    return views.consent_page(state, request, record, code, session)


def _refuse(
    state: ServerState, request: Request, form: Params, typed: str, refusal: Refusal
) -> Response:
    counted = state.throttle.record_failure(("user_code", client_address(request)))
    emit_counted(state.emit, REFUSALS_FLOW, counted)
    failures = counted[0].failures
    response = views.entry_page(state, request, typed=typed, error=refusal.message, status=400)
    state.emit(
        "device.user_code_refused",
        REFUSALS_FLOW,
        channel="front",
        source="user",
        target="authorization_server",
        summary=f"A user code was refused ({refusal.rule})",
        http=exchange(request, form, response),
        error="invalid_request",
        data={"rule": refusal.rule, "spec": refusal.spec, "failures": failures},
    )
    return response


async def _login(
    state: ServerState, request: Request, form: Params, code: str, record: DeviceCode
) -> Response:
    username = first_param(form, "username") or ""
    user = await sign_in(state, username, first_param(form, "password") or "", record.flow_id)
    if user is None:
        return views.login_page(
            state, request, record, code, error="Wrong username or password.", username=username
        )
    session_id, session = pages.new_session(state, user.sub)
    emit_signed_in(state, request, form, record.flow_id, user)
    response = views.consent_page(state, request, record, code, session)
    pages.set_session_cookie(state, response, session_id)
    return response


def _decide(
    state: ServerState,
    request: Request,
    form: Params,
    code: str,
    record: DeviceCode,
    sub: str,
    auth_time: float,
) -> Response:
    now, digest = state.clock.now(), user_code_digest(code)
    approve = first_param(form, "decision") == "approve"
    if approve:
        decided = state.store.approve_device_code(
            digest, now, sub=sub, grant_id=ordered_id(), auth_time=auth_time
        )
    else:
        decided = state.store.deny_device_code(digest, now)
    if decided is None:  # decided meanwhile (another tab), or expired since the page was shown
        refusal = Refusal(
            "check_user_code_pending",
            "RFC 8628 §3.3",
            "That code was already used or has expired.",
        )
        return _refuse(state, request, form, "", refusal)
    state.emit(
        "device.approved" if approve else "device.denied",
        record.flow_id,
        channel="front",
        source="user",
        target="authorization_server",
        summary="The user allowed the device: its next poll receives tokens"
        if approve
        else "The user denied the device: its next poll is told access_denied",
        http=exchange(request, form, None),
        data={"scope": list(record.scope), "spec": "RFC 8628 §3.3, §3.5", **acting_for(state, sub)},
        error=None if approve else "access_denied",
    )
    return views.done_page(state, request, approve)
