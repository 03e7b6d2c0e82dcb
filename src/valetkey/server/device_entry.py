"""The user code typed at ``/device``: normalized and judged by the core's rules
(``core.device.entry``), and each refusal counted per client address (RFC 8628 §5.1)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from valetkey.core.checks import Rejected
from valetkey.core.device import (
    EntryContext,
    UserCodeRejected,
    decide_user_code_entry,
    normalize_user_code,
    user_code_digest,
)
from valetkey.core.events import Check
from valetkey.core.models import DeviceCode
from valetkey.server.state import ServerState

MAX_TRACKED = 10_000  # addresses whose failures are counted at once; then the count starts over


@dataclass(frozen=True)
class Refusal:
    rule: str
    spec: str
    message: str  # for the person at the page


@dataclass(frozen=True)
class Entered:
    code: str  # the stored form: 8 letters, no dash
    record: DeviceCode
    checks: tuple[Check, ...]


def count_user_code_failure(state: ServerState, request: Request) -> int:
    """One more wrong user code from this client address; the count so far (RFC 8628 §5.1)."""
    failures = state.user_code_failures
    if len(failures) >= MAX_TRACKED:
        failures.clear()
    address = request.client.host if request.client else "unknown"
    failures[address] = failures.get(address, 0) + 1
    return failures[address]


def find_pending(state: ServerState, typed: str) -> Entered | Refusal:
    """The device authorization waiting for the code ``typed``, or why there is none."""
    try:
        code = normalize_user_code(typed)
    except UserCodeRejected as exc:
        why = str(exc)
        return Refusal("normalize_user_code", "RFC 8628 §6.1", why[:1].upper() + why[1:] + ".")
    record = state.store.get_device_code(user_code_digest(code))
    try:
        checks = decide_user_code_entry(EntryContext(record, state.clock.now()))
    except Rejected as rejected:
        error = rejected.error
        return Refusal(error.rule, error.spec, error.description)
    assert record is not None
    return Entered(code, record, checks)
