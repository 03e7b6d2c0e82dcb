"""The user code typed at ``/device``: normalized and judged by the core's rules
(``core.device.entry``), and each refusal counted per client address (RFC 8628 §5.1)."""

from __future__ import annotations

from dataclasses import dataclass

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
