"""The device's polling decision and the device authorization request, with plain values:
(record, client, now, last poll, interval) -> (outcome, failed rule, new interval)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from valetkey.core.checks import Rejected
from valetkey.core.device import (
    AUTHORIZATION_RULES,
    DEVICE_CODE_GRANT,
    POLL_RULES,
    DeviceAuthorizationContext,
    DeviceCode,
    PollContext,
    decide_device_authorization,
    decide_device_poll,
)
from valetkey.core.errors import (
    AuthorizationPending,
    DeviceAccessDenied,
    ExpiredToken,
    InvalidGrant,
    InvalidRequest,
    InvalidScope,
    OAuthError,
    SlowDown,
    UnauthorizedClient,
)
from valetkey.core.models import Client

T0 = 1_700_000_000.0

TV_APP = Client(
    "tv", grant_types=(DEVICE_CODE_GRANT, "refresh_token"), token_endpoint_auth_method="none",
    scope=("read:profile", "offline_access"),
)  # fmt: skip
OTHER = replace(TV_APP, client_id="other-tv")
WEB = Client("web", grant_types=("authorization_code",))
PENDING = DeviceCode(
    device_code_digest="d" * 64,
    user_code="WDJBMJHT",
    client_id="tv",
    scope=("read:profile",),
    audience=("https://api.example",),
    issued_at=T0,
    expires_at=T0 + 600,
)
APPROVED = replace(PENDING, sub="alice", grant_id="g1", auth_time=T0 + 30)
DENIED = replace(PENDING, denied_at=T0 + 30)
CONSUMED = replace(APPROVED, consumed_at=T0 + 40)
PARAMS = {"grant_type": [DEVICE_CODE_GRANT], "device_code": ["the-device-code"]}


@dataclass(frozen=True)
class Case:
    id: str
    record: DeviceCode | None
    now: float = T0 + 60
    last_poll: float | None = T0 + 50
    client: Client = TV_APP
    params: dict[str, list[str]] | None = None
    error: type[OAuthError] | None = None
    rule: str = ""
    interval: int = 5  # the interval after the decision


CASES = [
    Case("approved: issue", APPROVED),
    Case("approved, first poll: issue", APPROVED, last_poll=None),
    Case("approved, polled too soon: issue all the same", APPROVED, last_poll=T0 + 59),
    Case("pending", PENDING, error=AuthorizationPending, rule="check_approved"),
    Case("pending, first poll", PENDING, last_poll=None, error=AuthorizationPending,
         rule="check_approved"),
    Case("pending, exactly one interval later", PENDING, now=T0 + 55, error=AuthorizationPending,
         rule="check_approved"),
    Case("pending, too soon: slow down by 5 s", PENDING, now=T0 + 54.9, error=SlowDown,
         rule="check_poll_interval", interval=10),
    Case("denied", DENIED, error=DeviceAccessDenied, rule="check_not_denied"),
    Case("denied, too soon: still denied", DENIED, now=T0 + 51, error=DeviceAccessDenied,
         rule="check_not_denied"),
    Case("expired while pending", PENDING, now=T0 + 600, error=ExpiredToken,
         rule="check_device_code_expiry"),
    Case("expired after approval", APPROVED, now=T0 + 700, error=ExpiredToken,
         rule="check_device_code_expiry"),
    Case("already exchanged", CONSUMED, error=InvalidGrant, rule="check_device_code_unused"),
    Case("unknown code", None, error=InvalidGrant, rule="check_device_code_known"),
    Case("another client's code", APPROVED, client=OTHER, error=InvalidGrant,
         rule="check_device_code_client"),
    Case("client not registered for the grant", APPROVED, client=WEB, error=UnauthorizedClient,
         rule="check_grant_allowed"),
    Case("no device_code parameter", APPROVED, params={"grant_type": [DEVICE_CODE_GRANT]},
         error=InvalidRequest, rule="check_device_code_known"),
    Case("device_code repeated", APPROVED, params={"device_code": ["a", "b"]},
         error=InvalidRequest, rule="check_device_code_known"),
]  # fmt: skip


def poll(case: Case, interval: int = 5) -> PollContext:
    return PollContext(
        case.params if case.params is not None else PARAMS,
        case.client,
        case.record,
        case.now,
        case.last_poll,
        interval,
    )


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_poll_decision(case: Case) -> None:
    ctx = poll(case)
    if case.error is None:
        checks = decide_device_poll(ctx)
        assert [c.rule for c in checks] == [r.name for r in POLL_RULES]
        assert all(c.outcome == "pass" for c in checks)
    else:
        with pytest.raises(Rejected) as info:
            decide_device_poll(ctx)
        error = info.value.error
        assert type(error) is case.error
        assert error.rule == case.rule
        assert error.status == 400  # RFC 8628 §3.5: every poll error is an RFC 6749 §5.2 error
        failed = info.value.checks[-1]
        assert (failed.rule, failed.outcome) == (case.rule, "fail")
        assert failed.spec.startswith("RFC")
    assert ctx.interval == case.interval


def test_each_poll_error_has_the_code_rfc_8628_names() -> None:
    codes = {
        AuthorizationPending: "authorization_pending",
        SlowDown: "slow_down",
        DeviceAccessDenied: "access_denied",
        ExpiredToken: "expired_token",
    }
    for cls, code in codes.items():
        assert cls.error == code and cls.status == 400


def test_slow_down_carries_the_new_interval_and_keeps_growing() -> None:
    ctx = PollContext(PARAMS, TV_APP, PENDING, T0 + 52, T0 + 50, 5)
    with pytest.raises(Rejected) as info:
        decide_device_poll(ctx)
    assert isinstance(info.value.error, SlowDown) and info.value.error.interval == 10
    assert "10 seconds" in info.value.error.description
    assert "interval was 5s" in info.value.error.detail
    # The next poll is measured against the new interval: 8 s later is still too soon.
    now, interval = ctx.poll_state() or (0.0, 0)
    again = PollContext(PARAMS, TV_APP, PENDING, now + 8, now, interval)
    with pytest.raises(Rejected) as info:
        decide_device_poll(again)
    assert isinstance(info.value.error, SlowDown) and info.value.error.interval == 15
    later = PollContext(PARAMS, TV_APP, PENDING, now + 8 + 15, now + 8, 15)
    with pytest.raises(Rejected) as info:
        decide_device_poll(later)
    assert isinstance(info.value.error, AuthorizationPending)


def test_only_a_poll_by_the_codes_own_client_sets_its_pace() -> None:
    mine = PollContext(PARAMS, TV_APP, PENDING, T0 + 60, T0 + 50, 5)
    with pytest.raises(Rejected):
        decide_device_poll(mine)
    assert mine.poll_state() == (T0 + 60, 5)
    for client, record in ((OTHER, PENDING), (TV_APP, None), (WEB, PENDING)):
        ctx = PollContext(PARAMS, client, record, T0 + 60, T0 + 50, 5)
        with pytest.raises(Rejected):
            decide_device_poll(ctx)
        assert ctx.poll_state() is None


KNOWN = frozenset({"read:profile", "read:files", "offline_access", "openid"})


def test_device_authorization_request_resolves_the_scope() -> None:
    ctx = DeviceAuthorizationContext({"scope": ["read:profile"]}, TV_APP, KNOWN)
    checks = decide_device_authorization(ctx)
    assert [c.rule for c in checks] == [r.name for r in AUTHORIZATION_RULES]
    assert ctx.scope == ("read:profile",)
    default = DeviceAuthorizationContext({}, TV_APP, KNOWN)
    decide_device_authorization(default)
    assert default.scope == ("read:profile",)  # the registered scope, without offline_access


@pytest.mark.parametrize(
    ("client", "params", "error", "rule"),
    [
        (WEB, {}, UnauthorizedClient, "check_grant_allowed"),
        (TV_APP, {"scope": ["a", "b"]}, InvalidRequest, "check_single_values"),
        (TV_APP, {"client_id": ["tv", "tv"]}, InvalidRequest, "check_single_values"),
        (TV_APP, {"scope": ["read:files"]}, InvalidScope, "check_scope"),
        (TV_APP, {"scope": ["nope"]}, InvalidScope, "check_scope"),
    ],
)
def test_device_authorization_request_refusals(
    client: Client, params: dict[str, list[str]], error: type[OAuthError], rule: str
) -> None:
    with pytest.raises(Rejected) as info:
        decide_device_authorization(DeviceAuthorizationContext(params, client, KNOWN))
    assert type(info.value.error) is error and info.value.error.rule == rule
