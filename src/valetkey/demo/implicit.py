"""The deprecated implicit grant in the demo client: the token arrives in the URL fragment, which
only the browser sees, so a page script posts it to the client (RFC 6749 §4.2, RFC 9700 §2.1.2).
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from valetkey.client import ClientError, SecurityCheckFailed, callback_checks, grants, start
from valetkey.core.events import Check, HttpExchange
from valetkey.core.flows import authorization_flow_id
from valetkey.demo.base import DemoClient, client_of, expired
from valetkey.demo.events import decode
from valetkey.demo.session import Pending

DEPRECATED = "implicit grant: the access token travels in the URL fragment (RFC 9700 §2.1.2)"


async def start_login(request: Request) -> Response:
    client = client_of(request)
    session = client.session(request)
    reg = client.config.implicit
    if await client.form(request, session) is None or reg is None:
        return expired(client, request, session)
    redirect_uri = client.config.implicit_redirect_uri
    config = await client.oauth.client_for(reg, "read:profile read:files")
    auth = start(config, redirect_uri, response_type="token", pkce_method=None)
    flow_id = authorization_flow_id(reg.client_id, redirect_uri, auth.state, None, None)
    pending = Pending(auth, flow_id, "implicit", config)
    url = client.begin_login(session, pending, "/implicit/start", {"deprecated": DEPRECATED})
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
    found = session.pending.pop(state, None) if state else None
    pending = found or await client.oauth.unsolicited("implicit", flow_id)
    try:
        checks = callback_checks(pending.request, fragment, pending.client)
        failed = False
    except SecurityCheckFailed as exc:
        checks, failed = exc.checks, True
    error = fragment.get("error") or (
        "invalid_callback" if failed or "access_token" not in fragment else None
    )
    _received(client, flow_id, fragment, checks, error)
    if error:
        session.message = f"Implicit grant refused: {error}"
        return client.keep(RedirectResponse("/", status_code=303), session)
    now = client.clock.now()
    try:
        tokens = await client.oauth.run(
            grants.implicit(pending.client, pending.request, fragment, now), flow_id
        )
    except ClientError as exc:
        session.message = f"Implicit grant refused: {exc}"
        return client.keep(RedirectResponse("/", status_code=303), session)
    session.tokens, session.token_client = tokens, pending.client.client_id
    session.flow_id, session.decoded = flow_id, {"access_token": decode(tokens.access_token)}
    await client.api.call(session, "GET", "/api/profile")
    session.message = "Implicit grant: the token came through the URL fragment (deprecated)."
    return client.keep(RedirectResponse("/", status_code=303), session)


def _received(
    client: DemoClient,
    flow_id: str,
    fragment: dict[str, str],
    checks: tuple[Check, ...],
    error: str | None,
) -> None:
    token = fragment.get("access_token")
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
        data={
            "decoded": {"access_token": decode(token)} if token else {},
            "deprecated": DEPRECATED,
        },
    )
