"""The lab's token endpoint: honest checks (the code, PKCE, the redirect URI), then the ``token``,
``id_token`` and ``refresh`` faults of the catalogue."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response

from valetkey.core import pkce
from valetkey.core.client_auth import parse_basic
from valetkey.core.errors import InvalidClient, InvalidGrant, OAuthError, UnsupportedGrantType
from valetkey.lab import forge
from valetkey.lab.attempt import Attempt, CodeGrant
from valetkey.lab.http import form as read_form
from valetkey.lab.state import Lab

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}  # RFC 6749 §5.1
BAD_GATEWAY_PAGE = (
    "<!doctype html><html><head><title>502 Bad Gateway</title></head>"
    "<body><h1>502 Bad Gateway</h1><hr><p>nginx</p></body></html>"
)
HTTP_FAULTS: dict[str, Callable[[], Response]] = {
    "token-503": lambda: PlainTextResponse(
        "Service Unavailable", status_code=503, headers={"Retry-After": "120"}
    ),
    "token-html": lambda: HTMLResponse(BAD_GATEWAY_PAGE, status_code=502),
    "token-invalid-json": lambda: Response(
        '{"access_token": "', media_type="application/json", headers=NO_STORE
    ),
}
HOLD = "token-slow"
CODE_FAULTS = {
    "code-reused": "the authorization code was already used",
    "code-expired": "the authorization code has expired",
}
BODY_FAULTS: dict[str, Callable[[dict[str, Any]], None]] = {
    "token-type": lambda b: b.update(token_type="mac"),
    "scope-wider": lambda b: b.update(scope=" ".join([*b["scope"].split(), "admin"])),
    "no-expires-in": lambda b: b.pop("expires_in", None),
}
REFRESH_FAULTS = frozenset({"jwks-rotated", "refresh-reuse"})


def _client_id(request: Request, form: Mapping[str, str]) -> str:
    header = request.headers.get("authorization")
    if header:
        return parse_basic(header)[0]  # the lab takes any secret: it tests clients, not them
    return form.get("client_id", "")


async def token(request: Request, lab: Lab, attempt: Attempt) -> Response:
    form = await read_form(request)
    grant_type = form.get("grant_type", "")
    before = attempt.delivered
    attempt.enter("/token")
    try:
        client_id = _client_id(request, form)
        if grant_type == "authorization_code":
            response = await _code(lab, attempt, form, client_id)
        elif grant_type == "refresh_token":
            response = _refresh(lab, attempt, form)
        else:
            raise UnsupportedGrantType("the lab offers authorization_code and refresh_token")
    except OAuthError as exc:
        attempt.move(f"POST /token ({grant_type}) refused: {exc.description}")
        response = JSONResponse(exc.body(), status_code=exc.status, headers=NO_STORE)
    endpoint = "token" if response.status_code == 200 else "token_error"
    committed = attempt.delivered if attempt.delivered != before else None
    summary = committed or f"Token request ({grant_type})"
    lab.events.request(
        attempt, endpoint, summary, method="POST", path=request.url.path,
        status=response.status_code, data={"grant_type": grant_type},
    )  # fmt: skip
    return response


def _checked_grant(attempt: Attempt, form: Mapping[str, str], client_id: str) -> CodeGrant:
    code = form.get("code", "")
    attempt.present(code, "code", "it sent a code to /token")
    grant = attempt.grants.get(code)
    if grant is None:
        raise InvalidGrant("the code is not one the lab issued")
    reason = CODE_FAULTS.get(attempt.fault.name)
    if reason is not None:
        attempt.taint(code, "the lab had refused it")
        attempt.deliver(f"refused the code: {reason}")
        raise InvalidGrant(reason)
    if code in attempt.used_codes:  # RFC 6749 §4.1.2: a code is used once
        raise InvalidGrant("the authorization code was already used")
    if client_id != grant.client_id:
        raise InvalidClient("the code was issued to another client_id")
    if form.get("redirect_uri") != grant.redirect_uri:  # RFC 6749 §4.1.3
        raise InvalidGrant("redirect_uri differs from the one of the authorization request")
    verifier = form.get("code_verifier", "")
    # RFC 7636 §4.6: mismatch -> invalid_grant
    if not pkce.verify(verifier, grant.challenge or "", grant.method or "S256"):
        raise InvalidGrant("the code_verifier does not match the code_challenge")
    attempt.used_codes.add(code)
    return grant


async def _code(lab: Lab, attempt: Attempt, form: Mapping[str, str], client_id: str) -> Response:
    grant = _checked_grant(attempt, form, client_id)
    attempt.client_id, attempt.scope = grant.client_id, grant.scope
    name = attempt.fault.name
    if name == HOLD:
        return await _hold(lab, attempt)
    if name in HTTP_FAULTS:
        attempt.deliver(f"answered the token request with the fault {name}")
        return HTTP_FAULTS[name]()
    body = _tokens(lab, attempt, grant.nonce, "the code exchange", first=True)
    attempt.move("POST /token (authorization_code): tokens issued")
    return JSONResponse(body, headers=NO_STORE)


async def _hold(lab: Lab, attempt: Attempt) -> Response:
    attempt.deliver("held the token request without answering")
    deadline = time.monotonic() + lab.hold_seconds
    while attempt.active and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    return PlainTextResponse("the lab held this request", status_code=503)


def _tokens(
    lab: Lab, attempt: Attempt, nonce: str | None, label: str, *, first: bool
) -> dict[str, Any]:
    """A token response; the first one carries the ``token`` and ``id_token`` faults."""
    fault = attempt.fault
    access = attempt.issue("access", f"the access token of {label}")
    body: dict[str, Any] = {
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": 600,
        "scope": attempt.scope,
    }
    if first:
        body["refresh_token"] = attempt.issue("refresh", f"the refresh token of {label}")
    if "openid" in attempt.scope.split():
        ctx = forge.Context(
            lab.issuer(fault.name), lab.other_issuer(), attempt.client_id, nonce, access,
            int(time.time()), lab.keys.signing(attempt), lab.keys,
        )  # fmt: skip
        body["id_token"] = forge.id_token(ctx, fault.name if first else None)
    change = BODY_FAULTS.get(fault.name)
    if change is not None and (first or fault.expect == "survive"):
        change(body)
    committed = fault.name in BODY_FAULTS or (fault.name in forge.FAULTS and "id_token" in body)
    if first and committed:
        _taint_response(attempt, body)
    return body


def _taint_response(attempt: Attempt, body: Mapping[str, Any]) -> None:
    fault = attempt.fault
    attempt.deliver(f"issued a response where it {fault.does}")
    if fault.expect == "survive":
        return
    why = f"that response was one where the lab {fault.does}"
    for name in ("access_token", "refresh_token"):
        attempt.taint(body[name], why)


def _refresh(lab: Lab, attempt: Attempt, form: Mapping[str, str]) -> Response:
    presented = form.get("refresh_token", "")
    record = attempt.present(presented, "refresh", "it refreshed")
    if record is None or record.revoked:
        raise InvalidGrant("the refresh token is unknown or revoked")
    if record.retired:  # RFC 9700 §4.14.2: a rotated-away token again: the grant is revoked
        attempt.revoke_all()
        raise InvalidGrant("this refresh token was already rotated: the grant is revoked")
    attempt.refreshes += 1
    name = attempt.fault.name
    if name == "jwks-rotated" and not attempt.keys_rotated:
        attempt.keys_rotated = True
        attempt.deliver("rotated its signing key: the new ID token's kid replaces the old")
    body = _tokens(lab, attempt, None, f"refresh {attempt.refreshes}", first=False)
    if name == "refresh-reuse":
        label = f"the refresh token of refresh {attempt.refreshes}"
        body["refresh_token"] = attempt.issue("refresh", label)
        record.retired = True
        attempt.taint(presented, "the lab had rotated it away")
        attempt.deliver("rotated the refresh token")
    attempt.move(f"POST /token (refresh_token): refresh {attempt.refreshes}")
    return JSONResponse(body, headers=NO_STORE)
