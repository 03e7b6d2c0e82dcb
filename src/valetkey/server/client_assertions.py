"""private_key_jwt and client_secret_jwt at /token, /par, /introspect, /revoke and
/device_authorization (RFC 7523 §2.2, §3; OIDC Core §9): the server's side of
``core.client_auth.authenticated``. It builds the :class:`AssertionContext` (the issuer, this
endpoint's public URL, the token endpoint's, the time, the client's keys or its unsealed secret,
the policy) and passes the store as the replay registry (one table shared by every instance, as
for DPoP proofs). Each outcome is an event naming the rules that ran (docs/client-auth.md)."""

from __future__ import annotations

from dataclasses import replace

from starlette.requests import Request

from valetkey.core import client_auth, flows, jose
from valetkey.core.checks import Rejected
from valetkey.core.client_assertion import (
    CLIENT_SECRET_JWT,
    PRIVATE_KEY_JWT,
    AssertionContext,
    AssertionPolicy,
    UnknownAssertionKey,
)
from valetkey.core.errors import InvalidClient
from valetkey.core.events import Check
from valetkey.core.models import Client
from valetkey.server.client_keys import Keys
from valetkey.server.state import ServerState

# The endpoints that authenticate clients; the audience is the public URL, never built from Host.
ENDPOINT_PATHS = frozenset({"/token", "/par", "/introspect", "/revoke", "/device_authorization"})
SEALED_SPEC = "RFC 7518 §3.2, OIDC Core §9"


async def authenticate_by_assertion(
    state: ServerState,
    request: Request,
    presented: client_auth.PresentedCredentials,
    client: Client,
    flow_id: str | None,
) -> Client:
    """The client, when its assertion passes every rule and its jti was never used; otherwise
    InvalidClient (401) naming the rule, after an event with every check that ran."""
    now = state.clock.now()
    try:
        keys = await state.client_keys.keys(client, now)
        context = _context(state, request, client, keys, now)
        try:
            done = _verify(state, presented, client, context)
        except UnknownAssertionKey:
            if not state.client_keys.may_refetch(client, keys, now):
                raise
            fresh = await state.client_keys.keys(client, now, again=True)
            done = _verify(state, presented, client, replace(context, jwks=fresh.jwks))
    except InvalidClient as refused:
        _emit_refused(state, flow_id, client, refused)
        raise
    if state.observed:
        a = done.assertion
        state.emit(
            "client.assertion_accepted",
            flow_id or flows.new_flow_id(),
            channel="back",
            source="client",
            target="authorization_server",
            summary=f"{client.client_id} authenticated with {done.method}",
            checks=done.checks,
            data={"client_id": client.client_id, "method": done.method}
            | ({"alg": a.alg, "kid": a.kid} if a else {}),
        )
    return done.client


def _verify(
    state: ServerState,
    presented: client_auth.PresentedCredentials,
    client: Client,
    context: AssertionContext,
) -> client_auth.Authentication:
    return client_auth.authenticated(
        presented, client, _no_secret, assertion=context, replay=state.store
    )


def _no_secret(_secret: str, _digest: str) -> bool:
    return False  # an assertion carries no client_secret (core refuses one alongside it)


def endpoint_url(state: ServerState, request: Request) -> str:
    """The endpoint's URL as the metadata publishes it: the issuer and the endpoint's own path (a
    proxy may pass the issuer's path prefix along, or strip it)."""
    path = str(request.scope.get("path", ""))
    found = next((p for p in ENDPOINT_PATHS if path.endswith(p)), "/token")
    return state.issuer + found


def _context(
    state: ServerState, request: Request, client: Client, keys: Keys, now: float
) -> AssertionContext:
    return AssertionContext(
        issuer=state.issuer,
        endpoint_url=endpoint_url(state, request),
        now=now,
        token_endpoint_url=f"{state.issuer}/token",
        jwks=keys.jwks,
        client_secret=unsealed_secret(state, client),
        policy=client_policy(state.assertion_policy, client),
    )


def client_policy(policy: AssertionPolicy, client: Client) -> AssertionPolicy:
    """OIDC Registration §2: a registered token_endpoint_auth_signing_alg is the only one."""
    alg = client.token_endpoint_auth_signing_alg
    if alg is None:
        return policy
    if client.token_endpoint_auth_method == PRIVATE_KEY_JWT:
        return replace(policy, key_algs=(alg,))
    return replace(policy, secret_algs=(alg,))


def unsealed_secret(state: ServerState, client: Client) -> str | None:
    if client.token_endpoint_auth_method != CLIENT_SECRET_JWT or client.secret_sealed is None:
        return None  # core's check_assertion_key then says the client has no usable secret
    if state.sealing_key is None:
        raise InvalidClient(
            "this server cannot verify client_secret_jwt now: its operator has not set "
            "client_secret_key; use another method or ask the operator",
            rule="check_sealed_secret",
            spec=SEALED_SPEC,
        )
    try:
        return jose.unseal_secret(state.sealing_key, client.client_id, client.secret_sealed)
    except ValueError:
        raise InvalidClient(
            "this client's stored secret does not open with the server's client_secret_key (the "
            "key changed?): the operator must set the client's secret again",
            rule="check_sealed_secret",
            spec=SEALED_SPEC,
        ) from None


def _emit_refused(
    state: ServerState, flow_id: str | None, client: Client, refused: InvalidClient
) -> None:
    cause = refused.__cause__
    if isinstance(cause, Rejected):
        checks = cause.checks
    else:
        checks = (
            Check(
                refused.rule or "check_client_assertion",
                "fail",
                refused.spec,
                refused.detail or refused.description,
            ),
        )
    state.emit(
        "client.assertion_refused",
        flow_id or flows.new_flow_id(),
        channel="back",
        source="client",
        target="authorization_server",
        summary=f"Client assertion refused ({refused.rule or 'invalid_client'}): "
        f"{client.client_id[:100]}",
        checks=checks,
        error=refused.error,
        data={
            "client_id": client.client_id,
            "rule": refused.rule,
            "method": client.token_endpoint_auth_method,
        },
    )
