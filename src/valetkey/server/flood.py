"""The flood defences at work (core/throttle.py decides; docs/throttling.md): a device
authorization (RFC 8628 §3.1) or a pushed authorization request (RFC 9126 §2) stores a row with no
user involved, so

- a public client's request is counted per address (``Throttle.count_request``, in the database or
  Redis, shared by every instance): past the rate, 429 until the window ends;
- every client's unexpired, unfinished rows are capped: counted by the store in the transaction
  that writes the new row (``store.held``), so the cap holds across instances.

A refusal is 429 with ``Retry-After`` and ``invalid_request`` (RFC 6749 §5.2 has no code for "too
many"; RFC 9126 §2.3 names 429 for this; ``slow_down`` is RFC 8628 §3.5's polling answer, not the
device authorization endpoint's), and a ``throttle.refused`` event naming the rule and sections.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from valetkey.core import throttle
from valetkey.core.models import Client
from valetkey.core.text import public
from valetkey.core.throttle import CapKind, Decision, RateKind
from valetkey.server.http import NO_STORE, json_response
from valetkey.server.state import ServerState
from valetkey.server.throttle import client_address, emit_refused, with_retry_after
from valetkey.store.protocol import CapDecide

TARGETS: dict[throttle.Kind, str] = {
    "device_authorization": "Device authorization",
    "device_code_cap": "Device authorization",
    "pushed_request": "Pushed authorization request",
    "pushed_request_cap": "Pushed authorization request",
}


def over_rate(
    state: ServerState, request: Request, kind: RateKind, client: Client
) -> Decision | None:
    """Count a public client's request for its address; the refusal once past the rate, else
    None. A confidential client authenticated itself: only its cap applies."""
    if not client.is_public:
        return None
    decision = state.throttle.count_request(kind, client_address(request))
    return decision if decision is not None and not decision.allowed else None


def cap_of(state: ServerState, kind: CapKind, now: float) -> CapDecide | None:
    """The cap the store applies when it writes the row (None: no cap)."""
    limit = throttle.cap(kind, state.settings)
    if limit is None:
        return None

    def decide(held: int, earliest: float | None) -> Decision:
        return throttle.cap_check(kind, held, earliest, now, limit)

    return decide


def refusal_body(decision: Decision) -> dict[str, str]:
    """The JSON of a rate's or a cap's refusal (also what the endpoint's own event shows)."""
    return {"error": "invalid_request", "error_description": public(decision.description)}


def refused(state: ServerState, flow_id: str, decision: Decision) -> Response:
    """The 429 answer, and the ``throttle.refused`` event (the endpoint emits its own too)."""
    emit_refused(state.emit, flow_id, decision, TARGETS[decision.kind], unchecked=False)
    return with_retry_after(json_response(refusal_body(decision), 429, NO_STORE), decision)
