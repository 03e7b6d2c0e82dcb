"""Client authentication at the token, introspection and revocation endpoints (RFC 6749 §2.3.1,
§3.2.1; core/client_auth.py decides), behind the guessing defences (RFC 6749 §10.10;
core/throttle.py, docs/throttling.md).

A secret stored with Argon2id (a short, human-chosen one: guessable) is checked only while
neither the client nor the caller's address is throttled: a refused attempt costs no Argon2 work
and proves nothing, even with the right secret. A high-entropy secret (stored as a SHA-256 digest)
cannot be guessed: it is checked first, and the right one is never refused, so that no one can
keep a client out by failing on purpose and a success costs no read of the counts; a wrong one is
counted, and refused with 429 once throttled, all the same.

A client assertion (private_key_jwt, client_secret_jwt) carries no secret to guess: a registered
JWT client's goes to ``server.client_assertions``, and the secret path above costs nothing more.
"""

from __future__ import annotations

from starlette.requests import Request

from valetkey.core import client_auth, flows
from valetkey.core.errors import InvalidClient, ThrottledClient
from valetkey.core.models import Client
from valetkey.core.throttle import Decision
from valetkey.server.http import Params, header
from valetkey.server.state import ServerState
from valetkey.server.throttle import Key, client_address, emit_counted, emit_refused

SHA256 = "sha256:"


async def authenticate_client(
    state: ServerState, request: Request, form: Params, flow_id: str | None = None
) -> Client:
    presented = client_auth.presented_credentials(header(request, b"authorization"), form)
    known = await state.load_client(presented.client_id, flow_id)  # once per request
    if presented.secret is None:  # none, or an assertion: no shared secret to guess here
        if presented.assertion is not None and known is not None and known.jwt_auth:
            # Lazy: JWT client authentication loads with the first JWT client to authenticate.
            from valetkey.server.client_assertions import authenticate_by_assertion

            return await authenticate_by_assertion(state, request, presented, known, flow_id)
        return await _authenticate(state, presented, known)
    unguessable = known is not None and (known.secret_digest or "").startswith(SHA256)

    def keys() -> tuple[Key, Key]:  # built only when counts are read: not on the usual success
        return (("client", presented.client_id), ("address", client_address(request)))

    decision = None if unguessable else _allowed(state, keys(), flow_id)
    try:
        client = await _authenticate(state, presented, known)
    except InvalidClient:
        if decision is None:  # a wrong high-entropy secret: refused as the others once throttled
            _allowed(state, keys(), flow_id)
        emit_counted(state.emit, _flow(flow_id), state.throttle.record_failure(*keys()))
        raise
    if decision is not None and decision.failures:  # the client's count; never an address's
        state.throttle.record_success(keys()[0])
    return client


def _allowed(state: ServerState, keys: tuple[Key, Key], flow_id: str | None) -> Decision:
    decision = state.throttle.check(*keys)
    if not decision.allowed:
        emit_refused(state.emit, _flow(flow_id), decision, "Client authentication")
        raise ThrottledClient(
            decision.description, retry_after=decision.wait, rule=decision.rule, spec=decision.spec
        )
    return decision


def _flow(flow_id: str | None) -> str:
    return flow_id or flows.new_flow_id()


async def _authenticate(
    state: ServerState, presented: client_auth.PresentedCredentials, client: Client | None
) -> Client:
    stored = client.secret_digest if client else None
    if stored is not None and not stored.startswith(SHA256):
        # A low-entropy secret is Argon2-hashed: verify it off the event loop, through the gate.
        check = state.passwords.verify_client_secret
        ok = await state.gate.run(check, presented.secret or "", stored)
        return client_auth.authenticate(presented, client, lambda _s, _d: ok)
    return client_auth.authenticate(presented, client, state.passwords.verify_client_secret)
