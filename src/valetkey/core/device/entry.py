"""The user code entered at the verification URI (RFC 8628 §3.3) as a table of rules.

The server normalizes what the person typed (``codes.normalize_user_code``), loads the device
authorization by the code's digest (none when unknown) and calls :func:`decide_user_code_entry`:
the code must name a device authorization that is still waiting for the user. A refusal is an
``invalid_request`` whose description is written for the person at the page; the server counts
it (RFC 8628 §5.1: user codes are a guessing target).
"""

from __future__ import annotations

from dataclasses import dataclass

from valetkey.core.checks import Rule, run_rules
from valetkey.core.errors import InvalidRequest
from valetkey.core.events import Check
from valetkey.core.models import DeviceCode


@dataclass(frozen=True)
class EntryContext:
    record: DeviceCode | None
    now: float


def check_user_code_known(ctx: EntryContext) -> None:
    if ctx.record is None:
        raise InvalidRequest("That code is not valid. Check it against the code your device shows.")


def check_user_code_unexpired(ctx: EntryContext) -> None:
    assert ctx.record is not None
    if ctx.now >= ctx.record.expires_at:
        raise InvalidRequest(
            "That code has expired. Start again on your device.",
            detail=f"expired {ctx.now - ctx.record.expires_at:.0f}s ago",
        )


def check_user_code_pending(ctx: EntryContext) -> None:
    assert ctx.record is not None
    if ctx.record.status != "pending":
        raise InvalidRequest(
            "That code was already used. Start again on your device.",
            detail=f"status {ctx.record.status}",
        )


ENTRY_RULES: tuple[Rule[EntryContext], ...] = (
    Rule("check_user_code_known", "RFC 8628 §3.3, §5.1", check_user_code_known),
    Rule("check_user_code_unexpired", "RFC 8628 §3.3, §3.5", check_user_code_unexpired),
    Rule("check_user_code_pending", "RFC 8628 §3.3", check_user_code_pending),
)


def decide_user_code_entry(ctx: EntryContext) -> tuple[Check, ...]:
    """The checks when the code may be approved or denied now; raises Rejected otherwise."""
    return run_rules(ENTRY_RULES, ctx)
