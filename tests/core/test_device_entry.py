"""The user code entered at the verification URI (RFC 8628 §3.3): plain values in, a decision out."""

from __future__ import annotations

from dataclasses import replace

import pytest

from valetkey.core.checks import Rejected
from valetkey.core.device import EntryContext, decide_user_code_entry
from valetkey.core.errors import InvalidRequest
from valetkey.core.models import DeviceCode

PENDING = DeviceCode(
    device_code_digest="d",
    user_code="u",
    client_id="tv",
    scope=("read:files",),
    audience=(),
    issued_at=100.0,
    expires_at=700.0,
)


def test_a_pending_unexpired_code_passes_every_rule() -> None:
    checks = decide_user_code_entry(EntryContext(PENDING, 699.0))
    assert [c.rule for c in checks] == [
        "check_user_code_known",
        "check_user_code_unexpired",
        "check_user_code_pending",
    ]
    assert all(c.outcome == "pass" and c.spec.startswith("RFC 8628") for c in checks)


@pytest.mark.parametrize(
    ("record", "now", "rule", "words"),
    [
        (None, 100.0, "check_user_code_known", "not valid"),
        (PENDING, 700.0, "check_user_code_unexpired", "expired"),
        (replace(PENDING, sub="s", grant_id="g"), 200.0, "check_user_code_pending", "already used"),
        (replace(PENDING, denied_at=150.0), 200.0, "check_user_code_pending", "already used"),
        (
            replace(PENDING, sub="s", grant_id="g", consumed_at=1.0),
            200.0,
            "check_user_code_pending",
            "already used",
        ),
    ],
)
def test_codes_the_user_may_not_decide_are_refused_naming_the_rule(
    record: DeviceCode | None, now: float, rule: str, words: str
) -> None:
    with pytest.raises(Rejected) as caught:
        decide_user_code_entry(EntryContext(record, now))
    error = caught.value.error
    assert isinstance(error, InvalidRequest) and error.rule == rule and words in error.description
    assert caught.value.checks[-1].outcome == "fail"
