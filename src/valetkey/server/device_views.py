"""The pages of ``/device`` (RFC 8628 §3.3): enter the code, sign in, allow or deny, done.

Every form posts back to ``/device`` with a CSRF token for this browser and the user code, which
each step looks up again: nothing about the device travels in the page but the code the user typed.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from valetkey.core.device import display_user_code
from valetkey.core.models import DeviceCode, LoginSession
from valetkey.server import pages
from valetkey.server.acting import acting_for
from valetkey.server.http import exchange
from valetkey.server.state import ServerState

CSRF_PURPOSE = "device"
MAX_PREFILL = 64  # what a link may put in the entry field (core.device.codes.MAX_TYPED_LENGTH)


def _client_name(state: ServerState, record: DeviceCode) -> str:
    client = state.client(record.client_id)
    return (client.client_name if client else "") or record.client_id


def entry_page(
    state: ServerState,
    request: Request,
    *,
    typed: str = "",
    error: str | None = None,
    status: int = 200,
) -> Response:
    """The code entry form; ``typed`` pre-fills it (verification_uri_complete, RFC 8628 §3.3.1),
    and the user still confirms by sending it (§5.4: a link alone never approves anything)."""
    return pages.render(
        state,
        request,
        "device.html",
        status=status,
        csrf_purpose=CSRF_PURPOSE,
        typed=typed[:MAX_PREFILL],
        error=error,
    )


def login_page(
    state: ServerState,
    request: Request,
    record: DeviceCode,
    code: str,
    *,
    error: str | None = None,
    username: str = "",
) -> Response:
    response = pages.render(
        state,
        request,
        "login.html",
        status=401 if error else 200,
        csrf_purpose=CSRF_PURPOSE,
        action="/device",
        fields=[("step", "login"), ("user_code", display_user_code(code))],
        client_name=_client_name(state, record),
        error=error,
        username=username,
    )
    state.emit(
        "login.shown" if error is None else "login.failed",
        record.flow_id,
        channel="front",
        source="authorization_server",
        target="user",
        summary="The server asks the user to sign in to approve a device"
        if error is None
        else "Sign-in failed",
        http=exchange(request, None, response),
        error="access_denied" if error else None,
        data={"spec": "RFC 8628 §3.3"},
    )
    return response


def consent_page(
    state: ServerState, request: Request, record: DeviceCode, code: str, session: LoginSession
) -> Response:
    user = state.store.get_user(session.sub)
    response = pages.render(
        state,
        request,
        "device_consent.html",
        csrf_purpose=CSRF_PURPOSE,
        client_name=_client_name(state, record),
        client_id=record.client_id,
        user_code=display_user_code(code),
        scopes=[(s, pages.describe_scope(s)) for s in record.scope],
        username=user.username if user else session.sub,
    )
    state.emit(
        "consent.shown",
        record.flow_id,
        channel="front",
        source="authorization_server",
        target="user",
        summary="The server asks the user to allow the device, showing its code to compare",
        http=exchange(request, None, response),
        data={
            "scope": list(record.scope),
            "spec": "RFC 8628 §3.3, §5.4",
            **acting_for(state, user),
        },
    )
    return response


def done_page(state: ServerState, request: Request, approved: bool) -> Response:
    if approved:
        title, message = (
            "Device connected",
            "You can return to your device: it continues on its own.",
        )
    else:
        title, message = (
            "Access denied",
            "The device was not given access. You can close this page.",
        )
    return pages.render(state, request, "message.html", title=title, message=message)
