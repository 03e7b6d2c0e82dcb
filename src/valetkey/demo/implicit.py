"""The deprecated implicit grant in the demo client: the token arrives in the URL fragment, which
only the browser sees, so a page script posts it to the client (RFC 6749 §4.2, RFC 9700 §2.1.2).
"""

from __future__ import annotations

import time
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from valetkey.core.events import HttpExchange
from valetkey.core.flows import authorization_flow_id
from valetkey.core.secrets import new_token
from valetkey.demo.app import client_of, expired
from valetkey.demo.callback import iss_check, state_check
from valetkey.demo.events import decode, redact_url
from valetkey.demo.session import Pending

DEPRECATED = "implicit grant: the access token travels in the URL fragment (RFC 9700 §2.1.2)"


async def start(request: Request) -> Response:
    client = client_of(request)
    session = client.session(request)
    reg = client.config.implicit
    if await client.form(request, session) is None or reg is None:
        return expired(client, request, session)
    state, redirect_uri = new_token(16), client.config.implicit_redirect_uri
    flow_id = authorization_flow_id(reg.client_id, redirect_uri, state, None, None)
    scope = "read:profile read:files"
    session.pending[state] = Pending(
        state, flow_id, "implicit", reg.client_id, False, None, None, None, scope
    )
    client.sessions.remember_flow(state, flow_id)
    client.emit(
        "login.clicked",
        flow_id,
        channel="front",
        source="user",
        target="client",
        summary="Clicks “Log in” (implicit grant, deprecated: no code, no PKCE)",
        data={
            "kind": "implicit",
            "client_id": reg.client_id,
            "state": state,
            "deprecated": DEPRECATED,
        },
    )
    query = {
        "response_type": "token",
        "client_id": reg.client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": state,
    }
    url = f"{client.config.issuer}/authorize?{urlencode(query)}"
    client.emit(
        "authorization.redirected",
        flow_id,
        channel="front",
        source="client",
        target="browser",
        summary="303 redirect to the authorization endpoint (response_type=token)",
        http=HttpExchange(
            "POST",
            client.config.base_url + "/implicit/start",
            status=303,
            response_headers={"location": redact_url(url)},
        ),
        data={"client_id": reg.client_id},
    )
    return client.keep(RedirectResponse(url, status_code=303), session)


async def landing(request: Request) -> Response:
    """The redirect URI: a page whose script hands the fragment to the client."""
    client = client_of(request)
    session = client.session(request)
    return client.page(request, session, "implicit.html")


async def receive(request: Request) -> Response:
    client = client_of(request)
    session = client.session(request)
    values = await client.form(request, session)
    if values is None:
        return expired(client, request, session)
    fragment = dict(parse_qsl(values.get("fragment", ""), keep_blank_values=True))
    state = fragment.get("state")
    flow_id = client.sessions.flow_for_state(state) or "n-implicit"
    pending = session.pending.pop(state, None) if state else None
    checks = (state_check(pending, session), iss_check(fragment.get("iss"), client.config.issuer))
    failed = [c for c in checks if c.outcome == "fail"]
    error = fragment.get("error") or (
        "invalid_callback" if failed or "access_token" not in fragment else None
    )
    decoded = (
        {"access_token": decode(fragment.get("access_token"))}
        if fragment.get("access_token")
        else {}
    )
    client.emit(
        "callback.received",
        flow_id,
        channel="front",
        source="browser",
        target="client",
        summary="The page script posts the fragment: " + (error or "access token and state"),
        checks=checks,
        error=error,
        http=HttpExchange(
            "POST",
            client.config.implicit_redirect_uri,
            request_body={"fragment": "[redacted]"},
            status=303,
        ),
        data={"decoded": decoded, "deprecated": DEPRECATED},
    )
    if error or pending is None or client.config.implicit is None:
        session.message = f"Implicit grant refused: {error or 'unknown state'}"
        return client.keep(RedirectResponse("/", status_code=303), session)
    session.tokens = {
        k: v
        for k, v in fragment.items()
        if k in ("access_token", "token_type", "expires_in", "scope")
    }
    session.tokens["received_at"] = time.time()
    session.token_client, session.flow_id, session.decoded = (
        client.config.implicit.client_id,
        flow_id,
        decoded,
    )
    await client.oauth.call_api(session, "GET", "/api/profile")
    session.message = "Implicit grant: the token came through the URL fragment (deprecated)."
    return client.keep(RedirectResponse("/", status_code=303), session)
