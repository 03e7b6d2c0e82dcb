"""OpenID Connect RP-Initiated Logout 1.0: end the login session, then return to the client only at a
registered ``post_logout_redirect_uri`` (exact match), with ``state`` passed through.

With a valid ``id_token_hint`` naming the signed-in user the session ends at once; otherwise the user
confirms on a CSRF-protected page first (RP-Initiated Logout §2: logout without a hint may be forged).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from valetkey.core import jose, redirect
from valetkey.core.errors import InvalidClient, OAuthError
from valetkey.core.flows import new_flow_id
from valetkey.core.models import Client
from valetkey.server import pages
from valetkey.server.http import Params, encode_params, exchange, parse_params, read_form
from valetkey.server.state import ServerState

SPEC = "OIDC RP-Initiated Logout 1.0 §2-3"


@dataclass
class LogoutRequest:
    client: Client | None
    hint_sub: str | None  # sub of a valid id_token_hint
    redirect_to: str | None  # a registered post_logout_redirect_uri
    state: str | None
    query: str


class BadLogout(Exception):
    pass


def _one(params: Params, name: str) -> str | None:
    values = params.get(name)
    return values[0] if values else None


def _hint_claims(state: ServerState, hint: str) -> dict[str, Any]:
    """An ID token this server signed (expired ones too: it is only a hint of who is signing out)."""
    try:
        _header, claims = jose.verify(hint, state.keys.verify_keys(state.clock.now()))
    except jose.TokenInvalid as exc:
        raise BadLogout("id_token_hint is not an ID token issued by this server") from exc
    if claims.get("iss") != state.issuer:
        raise BadLogout("id_token_hint was issued by another server")
    return claims


async def parse_logout(state: ServerState, params: Params) -> LogoutRequest:
    client_id, hint = _one(params, "client_id"), _one(params, "id_token_hint")
    hint_sub = None
    if hint:
        claims = _hint_claims(state, hint)
        aud = claims.get("aud")
        hinted = (
            aud if isinstance(aud, str) else (aud[0] if isinstance(aud, list) and aud else None)
        )
        if client_id and hinted != client_id:
            raise BadLogout("client_id does not match the audience of id_token_hint")
        client_id = client_id or hinted
        hint_sub = claims.get("sub") if isinstance(claims.get("sub"), str) else None
    try:  # a metadata document client is read here too (another worker may not know it yet)
        client = await state.load_client(client_id) if client_id else None
    except InvalidClient as refused:
        raise BadLogout(f"client_id: {refused.description}") from None
    if client_id and client is None:
        raise BadLogout("client_id is not a registered client")
    target = _one(params, "post_logout_redirect_uri")
    if target is not None:
        if client is None:
            raise BadLogout(
                "post_logout_redirect_uri needs client_id or id_token_hint to identify the client"
            )
        if target not in client.post_logout_redirect_uris:  # exact string match
            raise BadLogout(
                "post_logout_redirect_uri is not registered for this client (exact match required)"
            )
    query = encode_params(params)
    return LogoutRequest(client, hint_sub, target, _one(params, "state"), query)


async def end_session_endpoint(request: Request) -> Response:
    state: ServerState = request.app.state.vk
    if request.method == "POST":
        form = await read_form_or_empty(request)
        return await _confirmed(state, request, form)
    try:
        params = parse_params(request.scope.get("query_string", b""))
        lr = await parse_logout(state, params)
    except UnicodeDecodeError:
        return _signed_out_page(state, request, "the query string is not valid UTF-8", end=False)
    except BadLogout as exc:
        return _signed_out_page(state, request, str(exc), end=False)
    session = pages.current_session(state, request)
    if session is None or (lr.hint_sub is not None and lr.hint_sub == session.sub):
        return _finish(state, request, lr)
    return pages.render(
        state,
        request,
        "logout.html",
        csrf_purpose="logout",
        redirect_to=lr.redirect_to,
        client_name=(lr.client.client_name or lr.client.client_id) if lr.client else "",
        request_query=lr.query,
    )


async def read_form_or_empty(request: Request) -> Params:
    try:
        return await read_form(request)
    except OAuthError:
        return {}


async def _confirmed(state: ServerState, request: Request, form: Params) -> Response:
    token = _one(form, "csrf_token")
    if not state.signer.check_csrf(pages.browser_id(request), "logout", token):
        return pages.error_page(
            state,
            request,
            "This form has expired",
            "The sign-out form could not be verified (missing or stale CSRF token).",
            "invalid_request",
            status=403,
        )
    try:
        lr = await parse_logout(state, parse_params(_one(form, "request") or ""))
    except BadLogout as exc:
        return _signed_out_page(state, request, str(exc), end=True)
    if _one(form, "decision") != "logout":
        return pages.render(
            state, request, "message.html", title="Still signed in", message="Nothing changed."
        )
    return _finish(state, request, lr)


def _finish(state: ServerState, request: Request, lr: LogoutRequest) -> Response:
    if lr.redirect_to is not None:
        params = {"state": lr.state} if lr.state is not None else {}
        response: Response = RedirectResponse(
            redirect.with_params(lr.redirect_to, params), status_code=303
        )
        name = (lr.client.client_name or lr.client.client_id) if lr.client else "the application"
        response = pages.onward(state, request, response, lr.redirect_to, name)
    else:
        response = pages.render(
            state, request, "message.html", title="Signed out", message="You are signed out."
        )
    pages.end_session(state, request, response)
    state.emit(
        "session.ended",
        new_flow_id(),
        channel="front",
        source="browser",
        target="authorization_server",
        summary="The user signed out"
        + (f"; back to {lr.client.client_id}" if lr.redirect_to and lr.client else ""),
        http=exchange(request, None, response),
        data={"spec": SPEC, "redirected": lr.redirect_to is not None},
    )
    return response


def _signed_out_page(state: ServerState, request: Request, message: str, *, end: bool) -> Response:
    response = pages.error_page(
        state, request, "Sign-out request problem", message, "invalid_request"
    )
    if end:
        pages.end_session(state, request, response)
    return response
