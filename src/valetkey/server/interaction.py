"""The sign-in and consent forms' POST handlers: CSRF-checked, then the request continues."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from valetkey.core.errors import AccessDenied, OAuthError
from valetkey.core.events import Check
from valetkey.core.models import User
from valetkey.core.throttle import Decision
from valetkey.server import pages
from valetkey.server.acting import acting_for
from valetkey.server.authorize import (
    Validated,
    continue_flow,
    error_redirect,
    first_param,
    issue_response,
    login_page,
    validate,
)
from valetkey.server.http import Params, exchange, parse_params, read_form
from valetkey.server.password_check import check_password
from valetkey.server.state import ServerState
from valetkey.server.throttle import (
    Key,
    client_address,
    emit_counted,
    emit_refused,
    known_browser,
    refused_check,
    remember_browser,
    with_retry_after,
    worst,
)


def csrf_refusal(
    state: ServerState, request: Request, form: Params, purpose: str
) -> Response | None:
    """The error page for a form whose CSRF token this browser was not given for ``purpose``."""
    token = first_param(form, "csrf_token")
    if state.signer.check_csrf(pages.browser_id(request), purpose, token):
        return None
    return pages.error_page(
        state,
        request,
        "This form has expired",
        "The form could not be verified (missing or stale CSRF token). Go back to the application and start again.",
        "invalid_request",
        status=403,
    )


async def sign_in(state: ServerState, username: str, password: str, flow_id: str) -> User | None:
    """The user whose password this is (Argon2id, through the hashing gate), or None."""
    user = state.store.get_user_by_username(username) if username else None
    ok = await check_password(state, user, password, flow_id)
    return user if ok and user is not None else None


def emit_signed_in(
    state: ServerState, request: Request, form: Params, flow_id: str, user: User
) -> None:
    state.emit(
        "login.succeeded",
        flow_id,
        channel="front",
        source="user",
        target="authorization_server",
        summary=f"{user.username} signed in",
        http=exchange(request, form, None),
        data=acting_for(state, user),
        checks=(
            Check(
                "check_password",
                "pass",
                "RFC 6749 §3.1 (resource owner authentication)",
                "Argon2id",
            ),
        ),
    )


async def _form_step(
    request: Request, purpose: str
) -> tuple[ServerState, Params, Validated | Response]:
    state: ServerState = request.app.state.vk
    try:
        form = await read_form(request)
    except OAuthError as exc:
        return (
            state,
            {},
            pages.error_page(
                state, request, "This request cannot continue", exc.description, exc.error
            ),
        )
    refused = csrf_refusal(state, request, form, purpose)
    if refused is not None:
        return state, form, refused
    original = parse_params((form.get("request") or [""])[0])
    return state, form, await validate(state, request, original)


async def login_endpoint(request: Request) -> Response:
    state, form, v = await _form_step(request, "login")
    if isinstance(v, Response):
        return v
    username = (form.get("username") or [""])[0]
    password = (form.get("password") or [""])[0]
    keys: tuple[Key, Key] = (("account", username), ("address", client_address(request)))
    account, address = state.throttle.decide(*keys)
    # A browser that signed in to this account before skips the account's delay (not the
    # address's): an attacker throttling the account cannot keep its owner out.
    known = not account.allowed and known_browser(state.signer, request, username)
    decision = address if known else worst((account, address))
    if not decision.allowed:  # refused before any Argon2 work (RFC 6749 §10.10)
        return _throttled(state, request, v, username, decision)
    user = await sign_in(state, username, password, v.flow_id)
    if user is None:
        emit_counted(state.emit, v.flow_id, state.throttle.record_failure(*keys))
        return login_page(
            state, request, v, error="Wrong username or password.", username=username, status=401
        )
    if account.failures:  # a success forgets the account's failures, never the address's
        state.throttle.record_success(keys[0])
    session_id, session = pages.new_session(state, user.sub)
    emit_signed_in(state, request, form, v.flow_id, user)
    # Continue here rather than redirect to /authorize: re-reading prompt=login or max_age=0 there
    # would ask the user to sign in again, forever.
    response = _onward(
        state, request, v, await continue_flow(state, request, v, session, fresh_login=True)
    )
    pages.set_session_cookie(state, response, session_id)
    remember_browser(state.signer, response, username, state.issuer.startswith("https://"))
    return response


def _throttled(
    state: ServerState, request: Request, v: Validated, username: str, decision: Decision
) -> Response:
    """The sign-in form again, with 429 and Retry-After (RFC 6585 §4), the password unchecked."""
    emit_refused(state.emit, v.flow_id, decision, "Sign-in")
    page = login_page(
        state,
        request,
        v,
        error=f"Too many attempts: try again in {decision.in_words}.",
        username=username,
        status=429,
        checks=(refused_check(decision),),
        why={"rule": decision.rule, "spec": decision.spec},
    )
    return with_retry_after(page, decision)


def _onward(state: ServerState, request: Request, v: Validated, response: Response) -> Response:
    """The form's answer: a redirect to the client, or a page sending the browser there when the
    page's policy cannot name the redirect URI (``pages.onward``)."""
    name = v.client.client_name or v.client.client_id
    return pages.onward(state, request, response, v.request.redirect_uri, name)


async def consent_endpoint(request: Request) -> Response:
    state, form, v = await _form_step(request, "consent")
    if isinstance(v, Response):
        return v
    session = pages.current_session(state, request)
    if session is None:
        return login_page(state, request, v)
    decision = (form.get("decision") or [""])[0]
    if decision != "approve":
        exc = AccessDenied("the user denied the request")
        response = error_redirect(
            state, v.request.redirect_uri, exc, v.request.state, v.request.uses_fragment
        )
        state.emit(
            "consent.denied",
            v.flow_id,
            channel="front",
            source="user",
            target="authorization_server",
            summary="The user denied access",
            http=exchange(request, form, response),
            error="access_denied",
            data=acting_for(state, session.sub),
        )
        return _onward(state, request, v, response)
    state.store.save_consent(session.sub, v.request.client_id, v.request.scope, state.clock.now())
    state.emit(
        "consent.granted",
        v.flow_id,
        channel="front",
        source="user",
        target="authorization_server",
        summary="The user approved: " + (" ".join(v.request.scope) or "(no scope)"),
        http=exchange(request, form, None),
        data={"scope": list(v.request.scope), **acting_for(state, session.sub)},
    )
    return _onward(state, request, v, issue_response(state, request, v, session))
