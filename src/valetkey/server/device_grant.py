"""The device's polls at the token endpoint (RFC 8628 §3.4-3.5).

The store locks the code's row and calls the core's decision inside its transaction; the pace of
the polls (last poll, interval) is kept whatever the answer, and an approved code is consumed with
the tokens it issues: once, even with two instances answering at the same moment.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from valetkey.core.checks import Rejected
from valetkey.core.device import (
    DEVICE_CODE_GRANT,
    PollContext,
    decide_device_poll,
    device_code_digest,
)
from valetkey.core.errors import AuthorizationPending, SlowDown
from valetkey.core.models import Client, DeviceCode, Issuance
from valetkey.core.token import one
from valetkey.server.dpop import TokenProof
from valetkey.server.http import Params
from valetkey.server.issue import (
    Minted,
    grant_id_token,
    mint_redeemed,
    token_response,
)
from valetkey.server.state import ServerState
from valetkey.server.token_types import Failed, Outcome


async def device_code_grant(
    state: ServerState,
    request: Request,
    form: Params,
    client: Client,
    header_flow: str | None,
    dpop: TokenProof,
) -> Outcome:
    value = one(form, "device_code") or ""
    now = state.clock.now()
    seen: dict[str, Any] = {}

    def decide(
        record: DeviceCode | None, last_poll: float | None, interval: int
    ) -> tuple[Issuance | None, tuple[float, int] | None]:
        pace = interval or state.settings.device_poll_interval
        ctx = PollContext(form, client, record, now, last_poll, pace, resources=state.resources)
        seen["flow"] = record.flow_id if record else None
        try:
            seen["checks"] = decide_device_poll(ctx)
        except Rejected as rejected:
            seen["rejected"] = rejected
            return None, ctx.poll_state()
        assert record is not None
        seen["record"] = record
        issuance = mint_redeemed(
            state,
            seen,
            client=client,
            grant=record.grant(),
            scope=ctx.scope,
            audience=ctx.audience,
            id_scope=record.scope,
            now=now,
            new_grant=True,
            jkt=dpop.jkt,
        )
        return issuance, ctx.poll_state()

    if value:
        state.store.poll_device_code(device_code_digest(value), now, decide)
    else:
        decide(None, None, 0)
    flow_id = header_flow or seen.get("flow")
    rejected: Rejected | None = seen.get("rejected")
    if rejected is not None:
        emit_poll(state, flow_id, rejected)
        raise Failed(rejected.error, flow_id, rejected.checks)
    minted: Minted = seen["minted"]
    record: DeviceCode = seen["record"]
    body = token_response(state, minted, seen["scope"])
    body.update(
        grant_id_token(state, client, record.grant(), seen["user"], record.scope, minted, now)
    )
    return Outcome(
        body,
        flow_id,
        seen["checks"],
        {
            "grant_type": DEVICE_CODE_GRANT,
            "scope": list(seen["scope"]),
            "spec": "RFC 8628 §3.5",
            **seen["acting"],
        },
    )


def emit_poll(state: ServerState, flow_id: str | None, rejected: Rejected) -> None:
    """A poll before the user finished: the device waits (authorization_pending) or slows down."""
    exc = rejected.error
    if not flow_id or not isinstance(exc, AuthorizationPending | SlowDown):
        return  # the token endpoint's own event tells every other refusal
    slow = isinstance(exc, SlowDown)
    # Not an error in the flow: the answer a device expects until the user finishes.
    data: dict[str, Any] = {"answer": exc.error, "rule": exc.rule, "spec": exc.spec}
    if isinstance(exc, SlowDown):
        data["interval"] = exc.interval
    state.emit(
        "device.slow_down" if slow else "device.poll_pending",
        flow_id,
        channel="back",
        source="authorization_server",
        target="client",
        summary="The device polled too fast: its interval grows by 5 seconds"
        if slow
        else "The device polled; the user has not finished yet",
        checks=rejected.checks[:-1],  # the rules that passed; the deciding one is in data
        data=data,
    )
