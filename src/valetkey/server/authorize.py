"""The authorization endpoint (RFC 6749 §4.1.1-§4.1.2, RFC 9207): validate the request, then show the
sign-in or consent page or issue the response, as ``core.interaction`` decides. The forms' POST
handlers live in ``server/interaction.py``."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from valetkey.core import flows, par, redirect
from valetkey.core import secrets as vsecrets
from valetkey.core.authorize import (
    AuthorizationRequest,
    AuthorizeContext,
    validate_authorization_request,
)
from valetkey.core.checks import Rejected
from valetkey.core.client_id_document import client_host
from valetkey.core.errors import InvalidClient, InvalidRequest, OAuthError
from valetkey.core.events import Check
from valetkey.core.flows import authorization_flow_id
from valetkey.core.interaction import InteractionContext, decide_interaction
from valetkey.core.models import AuthorizationCode, Client, Grant, LoginSession, NewCode
from valetkey.core.secrets import new_token, ordered_id
from valetkey.server import pages
from valetkey.server.acting import acting_for
from valetkey.server.http import (
    Params,
    Redirect,
    encode_params,
    exchange,
    parse_params,
    read_form,
    with_rows,
)
from valetkey.server.state import ServerState


@dataclass
class Validated:
    request: AuthorizationRequest
    client: Client
    checks: tuple[Check, ...]
    flow_id: str
    params: Params  # as sent: with a pushed request, only client_id and request_uri
    pushed: str | None = None  # the digest of the pushed request's request_uri (RFC 9126)

    @property
    def query(self) -> str:
        """The request re-encoded for the login and consent forms (built only when one is shown)."""
        return encode_params(self.params)


def first_param(params: Params, name: str) -> str | None:
    values = params.get(name)
    return values[0] if values else None


def _flow_id(params: Params) -> str:
    return authorization_flow_id(
        first_param(params, "client_id") or "",
        first_param(params, "redirect_uri"),
        first_param(params, "state"),
        first_param(params, "code_challenge"),
        first_param(params, "nonce"),
    )


async def validate(state: ServerState, request: Request, params: Params) -> Validated | Response:
    """Validate the request; a rejection becomes an error page or an error redirect, with its event.
    A request that names a pushed request (RFC 9126) is judged on the pushed parameters. A
    client_id that is a metadata document URL is fetched first (its refusal is an error page:
    nothing from a refused document, its redirect URIs included, is trusted)."""
    sent, pushed = params, None
    if "request_uri" in sent:
        try:
            params, pushed = resolve_pushed(state, sent)
        except OAuthError as refusal:
            return _refused_page(state, request, sent, refusal)
    client_id = first_param(params, "client_id")
    flow_id = _flow_id(params)
    try:
        client = await state.load_client(client_id, flow_id) if client_id else None
    except InvalidClient as refused:
        return pages.error_page(
            state, request, "This application cannot be used", refused.description, refused.error
        )
    ctx = rules_context(state, params, client)
    try:
        authz, checks = validate_authorization_request(ctx)
        if pushed is None and client is not None and must_push(state, client):
            raise Rejected(
                InvalidRequest(
                    "this client must push its authorization requests to the pushed "
                    "authorization request endpoint and send only client_id and request_uri "
                    "here (RFC 9126 section 5)",
                    rule="check_pushed_request_required",
                    spec=par.REQUIRED_SPEC,
                ),
                checks,
            )
    except Rejected as rejected:
        exc = rejected.error
        if exc.allow_redirect and ctx.redirect_uri:
            response = error_redirect(
                state,
                ctx.redirect_uri,
                exc,
                first_param(params, "state"),
                ctx.response_type == "token",
            )
        else:
            response = pages.error_page(
                state, request, "This request cannot continue", exc.description, exc.error
            )
        state.emit(
            "authorization.rejected",
            flow_id,
            channel="front",
            source="browser",
            target="authorization_server",
            summary=f"Authorization request rejected: {exc.error}",
            checks=rejected.checks,
            http=exchange(request, params, response),
            error=exc.error,
            data={
                "rule": exc.rule,
                "spec": exc.spec,
                "redirected": bool(exc.allow_redirect and ctx.redirect_uri),
            },
        )
        return response
    assert client is not None
    return Validated(authz, client, checks, flow_id, sent, pushed)


def rules_context(state: ServerState, params: Params, client: Client | None) -> AuthorizeContext:
    """What the authorization request's rule table judges (core.authorize): the request, its
    client, and this server's resources, known scopes and grant switches; at /authorize and, for
    a pushed request, at /par."""
    return AuthorizeContext(
        params,
        client,
        state.resources,
        state.settings.allow_deprecated_grants,
        known_scopes=state.known_scopes,
    )


def must_push(state: ServerState, client: Client) -> bool:
    return state.settings.require_pushed_authorization_requests or (
        client.require_pushed_authorization_requests
    )


def resolve_pushed(state: ServerState, sent: Params) -> tuple[Params, str]:
    """The parameters pushed for the request_uri ``sent`` names (RFC 9126 section 4)."""
    uris = sent.get("request_uri") or []
    digest = par.digest_of(uris[0]) if len(uris) == 1 else None
    found = state.store.get_pushed_request(digest, state.clock.now()) if digest else None
    digest, _ = par.check_front_channel(sent, found[0] if found else None)
    assert found is not None
    return found[1], digest


def _refused_page(state: ServerState, request: Request, sent: Params, exc: OAuthError) -> Response:
    """A request whose redirect URI cannot be trusted: an error page, never a redirect."""
    response = pages.error_page(
        state, request, "This request cannot continue", exc.description, exc.error
    )
    state.emit(
        "authorization.rejected",
        flows.new_flow_id(),
        channel="front",
        source="browser",
        target="authorization_server",
        summary=f"Authorization request rejected: {exc.error}",
        checks=(Check("check_request_uri", "fail", par.SPEC, exc.description),),
        http=exchange(request, sent, response),
        error=exc.error,
        data={"rule": "check_request_uri", "spec": par.SPEC, "redirected": False},
    )
    return response


def error_redirect(
    state: ServerState,
    redirect_uri: str,
    exc: OAuthError,
    client_state: str | None,
    fragment: bool = False,
) -> Response:
    params = {"error": exc.error, "error_description": exc.description}
    if client_state is not None:
        params["state"] = client_state
    params["iss"] = state.issuer  # RFC 9207 §2
    return Redirect(redirect.with_params(redirect_uri, params, fragment=fragment))


async def authorize_endpoint(request: Request) -> Response:
    state: ServerState = request.app.state.vk
    if request.method == "POST":
        try:
            params = await read_form(request)
        except OAuthError as exc:
            return pages.error_page(
                state, request, "This request cannot continue", exc.description, exc.error
            )
    else:
        try:
            params = parse_params(request.scope.get("query_string", b""))
        except UnicodeDecodeError:
            return pages.error_page(
                state,
                request,
                "This request cannot continue",
                "The authorization request's query string is not valid UTF-8.",
                "invalid_request",
            )
    result = await validate(state, request, params)
    if isinstance(result, Response):
        return result
    session, granted = pages.session_and_consent(state, request, result.client.client_id)
    if state.observed:  # with a NullSink, the event's parts are not even built
        state.emit(
            "authorization.requested",
            result.flow_id,
            channel="front",
            source="browser",
            target="authorization_server",
            summary=f"{result.client.client_name or result.client.client_id} asks for: {' '.join(result.request.scope) or '(no scope)'}",
            checks=result.checks,
            http=exchange(request, params, None),
            data={
                "client_id": result.client.client_id,
                "scope": list(result.request.scope),
                "pkce": result.request.code_challenge_method,
                # A live session: the request is answered for its user (unless a sign-in is asked).
                **acting_for(state, session.sub if session else None),
            },
        )
    return await continue_flow(state, request, result, session, granted=granted)


async def continue_flow(
    state: ServerState,
    request: Request,
    v: Validated,
    session: LoginSession | None,
    *,
    fresh_login: bool = False,
    granted: tuple[str, ...] | None = None,
) -> Response:
    """Load what the interaction decision needs, let core decide, act on the decision.

    ``fresh_login``: the user has just signed in for this very request. ``granted``: the scopes the
    user has approved for this client, when they were read with the session.
    """
    if session is not None and granted is None:
        granted = state.store.get_consent(session.sub, v.request.client_id)
    ctx = InteractionContext(
        v.request, session, granted or (), state.clock.now(), fresh_login, v.client.is_public
    )
    decision = decide_interaction(ctx)
    if decision.error is not None:
        return interaction_error(state, request, v, decision.error, decision.checks)
    if decision.step == "sign_in":
        return login_page(state, request, v, checks=decision.checks, why=decision.why())
    assert session is not None  # only sign-in is decided without a session
    if decision.step == "consent":
        return consent_page(state, request, v, session, checks=decision.checks, why=decision.why())
    return issue_response(state, request, v, session, remembered=True, checks=decision.checks)


def interaction_error(
    state: ServerState,
    request: Request,
    v: Validated,
    exc: OAuthError,
    checks: tuple[Check, ...] = (),
) -> Response:
    response = error_redirect(
        state, v.request.redirect_uri, exc, v.request.state, v.request.uses_fragment
    )
    state.emit(
        "authorization.rejected",
        v.flow_id,
        channel="front",
        source="authorization_server",
        target="browser",
        summary=f"Cannot continue without the user: {exc.error}",
        checks=checks,
        http=exchange(request, None, response),
        error=exc.error,
        data={"rule": exc.rule, "spec": exc.spec},
    )
    return response


def login_page(
    state: ServerState,
    request: Request,
    v: Validated,
    *,
    error: str | None = None,
    username: str | None = None,
    status: int = 200,
    checks: tuple[Check, ...] = (),
    why: dict[str, str] | None = None,
) -> Response:
    response = pages.render(
        state,
        request,
        "login.html",
        status=status,
        csrf_purpose="login",
        redirect_to=v.request.redirect_uri,
        client_name=v.client.client_name or v.client.client_id,
        request_query=v.query,
        error=error,
        username=username,
    )
    state.emit(
        "login.shown" if error is None else "login.failed",
        v.flow_id,
        channel="front",
        source="authorization_server",
        target="user",
        summary="The server asks the user to sign in" if error is None else "Sign-in failed",
        checks=checks,
        http=exchange(request, None, response),
        error="access_denied" if error else None,
        data=why or {},
    )
    return response


def consent_page(
    state: ServerState,
    request: Request,
    v: Validated,
    session: LoginSession,
    *,
    checks: tuple[Check, ...] = (),
    why: dict[str, str] | None = None,
) -> Response:
    user = state.store.get_user(session.sub)
    response = pages.render(
        state,
        request,
        "consent.html",
        csrf_purpose="consent",
        redirect_to=v.request.redirect_uri,
        client_name=v.client.client_name or v.client.client_id,
        client_id=v.client.client_id,
        client_host=client_host(v.client.client_id),
        scopes=[(s, pages.describe_scope(s)) for s in v.request.scope],
        username=user.username if user else session.sub,
        redirect_host=urlsplit(v.request.redirect_uri).netloc or v.request.redirect_uri,
        request_query=v.query,
    )
    state.emit(
        "consent.shown",
        v.flow_id,
        channel="front",
        source="authorization_server",
        target="user",
        summary="The server asks the user to approve the requested scopes",
        checks=checks,
        http=exchange(request, None, response),
        data={"scope": list(v.request.scope), **(why or {}), **acting_for(state, user)},
    )
    return response


def issue_response(
    state: ServerState,
    request: Request,
    v: Validated,
    session: LoginSession,
    *,
    remembered: bool = False,
    checks: tuple[Check, ...] = (),
) -> Response:
    authz = v.request
    now = state.clock.now()
    if v.pushed is not None and not state.store.use_pushed_request(v.pushed, now):
        used = par.InvalidRequestUri(
            "the request_uri was used already (or expired meanwhile): push the authorization "
            "request again (RFC 9126 section 4)"
        )
        return _refused_page(state, request, v.params, used)
    if authz.response_type == "token":
        # Lazy: the deprecated implicit grant loads with its first use.
        from valetkey.server.implicit import issue_implicit

        return issue_implicit(state, request, v.client, authz, v.flow_id, session, checks)
    code_value = new_token(32)
    grant = Grant(
        grant_id=ordered_id(),
        client_id=authz.client_id,
        sub=session.sub,
        scope=authz.scope,
        audience=authz.audience,
        created_at=now,
        flow_id=v.flow_id,
        auth_time=session.auth_time,
        nonce=authz.nonce,
    )
    code = AuthorizationCode(
        code_digest=vsecrets.digest(code_value),
        client_id=authz.client_id,
        redirect_uri=authz.redirect_uri,
        sub=session.sub,
        scope=authz.scope,
        audience=authz.audience,
        code_challenge=authz.code_challenge,
        code_challenge_method=authz.code_challenge_method,
        grant_id=grant.grant_id,
        flow_id=v.flow_id,
        issued_at=now,
        expires_at=now + state.settings.authorization_code_ttl,
        auth_time=session.auth_time,
        nonce=authz.nonce,
        redirect_uri_given=authz.redirect_uri_given,
        dpop_jkt=authz.dpop_jkt,
    )
    params = {"code": code_value}
    if authz.state is not None:
        params["state"] = authz.state
    params["iss"] = state.issuer  # RFC 9207 §2
    # The code and its grant travel with the answer: the runtime makes them durable before it leaves.
    response = with_rows(
        Redirect(redirect.with_params(authz.redirect_uri, params)), NewCode(code, grant)
    )
    if state.observed:
        state.emit(
            "authorization_code.issued",
            v.flow_id,
            channel="front",
            source="authorization_server",
            target="client",
            summary="Redirect back to the client with a one-time code"
            + (" (consent remembered)" if remembered else ""),
            checks=checks,
            http=exchange(request, None, response),
            data={
                "expires_in": state.settings.authorization_code_ttl,
                "pkce": authz.code_challenge_method,
                "scope": list(authz.scope),
                **acting_for(state, session.sub),
            },
        )
    return response
