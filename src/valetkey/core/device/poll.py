"""The device's polling request at the token endpoint (RFC 8628 §3.4-3.5) as a table of rules.

The server loads the device-code record by the digest of the presented code (none when unknown),
keeps per code the time of the last poll and the current interval, and calls
:func:`decide_device_poll`. It returns the checks when the server may issue tokens (and consume
the code atomically), or raises :class:`~valetkey.core.checks.Rejected` carrying
``authorization_pending``, ``slow_down`` (:class:`SlowDown` has the new interval),
``access_denied``, ``expired_token`` or ``invalid_grant``. Either way the server then stores
:meth:`PollContext.poll_state`, so the next poll is measured against this one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from valetkey.core import resource_indicators
from valetkey.core.checks import Rule, run_rules
from valetkey.core.errors import (
    AuthorizationPending,
    DeviceAccessDenied,
    ExpiredToken,
    InvalidGrant,
    SlowDown,
)
from valetkey.core.events import Check
from valetkey.core.models import Client, DeviceCode, Resource
from valetkey.core.token import client_may_use_grant, require

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"  # RFC 8628 §3.4
DEFAULT_INTERVAL = 5  # RFC 8628 §3.2: what a client waits when the server names no interval
SLOW_DOWN_STEP = 5  # RFC 8628 §3.5: slow_down adds 5 seconds to the interval


@dataclass
class PollContext:
    params: Mapping[str, Sequence[str]]
    client: Client
    record: DeviceCode | None
    now: float
    last_poll: float | None  # None on the first poll for this code
    interval: int  # seconds, as last told to the client; grows on slow_down
    counted: bool = False  # the poll was made by the code's own client: it sets the pace
    resources: Sequence[Resource] = ()
    scope: tuple[str, ...] = ()  # the access token's, set by check_resource
    audience: tuple[str, ...] = ()  # the access token's (RFC 8707), set by check_resource

    def poll_state(self) -> tuple[float, int] | None:
        """(time of this poll, interval) to store for the code, or None when this request was not
        a poll of a code of this client (another client's request never changes its pace)."""
        return (self.now, self.interval) if self.counted else None


def check_grant_allowed(ctx: PollContext) -> None:
    client_may_use_grant(ctx.client, DEVICE_CODE_GRANT)


def check_device_code_known(ctx: PollContext) -> None:
    require(ctx.params, "device_code")
    if ctx.record is None:
        raise InvalidGrant("the device_code is not valid: unknown, or already exchanged for tokens")


def check_device_code_client(ctx: PollContext) -> None:
    assert ctx.record is not None
    if ctx.record.client_id != ctx.client.client_id:
        raise InvalidGrant(
            "the device_code was issued to another client",
            detail=f"code client={ctx.record.client_id!r}",
        )
    ctx.counted = True


def check_device_code_unused(ctx: PollContext) -> None:
    assert ctx.record is not None
    if ctx.record.status == "consumed":
        raise InvalidGrant(
            "the device_code was already exchanged for tokens; it can be used only once",
            detail="device code replay",
        )


def check_device_code_expiry(ctx: PollContext) -> None:
    assert ctx.record is not None
    if ctx.now >= ctx.record.expires_at:
        raise ExpiredToken(
            "the device_code has expired; start a new device authorization request",
            detail=f"expired {ctx.now - ctx.record.expires_at:.0f}s ago",
        )


def check_not_denied(ctx: PollContext) -> None:
    assert ctx.record is not None
    if ctx.record.status == "denied":
        raise DeviceAccessDenied("the user denied the authorization request")


def check_poll_interval(ctx: PollContext) -> None:
    assert ctx.record is not None
    if ctx.record.status != "pending" or ctx.last_poll is None:
        return  # slow_down is a kind of "still pending" (§3.5); the first poll sets the pace
    gap = ctx.now - ctx.last_poll
    if gap < ctx.interval:
        old, ctx.interval = ctx.interval, ctx.interval + SLOW_DOWN_STEP
        raise SlowDown(
            f"polling too fast: wait at least {ctx.interval} seconds between requests",
            interval=ctx.interval,
            detail=f"polled {gap:.1f}s after the last poll; interval was {old}s",
        )


def check_approved(ctx: PollContext) -> None:
    assert ctx.record is not None
    if ctx.record.status == "pending":
        raise AuthorizationPending(
            f"the user has not yet entered the code and approved; poll again in {ctx.interval} "
            "seconds"
        )


def check_resource(ctx: PollContext) -> None:
    """RFC 8707 §2.2: the resources named in the poll that issues the tokens must be within the
    grant's; the access token is for them, its scope narrowed to theirs."""
    assert ctx.record is not None
    ctx.scope, ctx.audience = resource_indicators.for_token(
        resource_indicators.requested(ctx.params),
        ctx.record.audience,
        ctx.record.scope,
        ctx.resources,
    )


POLL_RULES: tuple[Rule[PollContext], ...] = (
    Rule("check_grant_allowed", "RFC 6749 §5.2 unauthorized_client", check_grant_allowed),
    Rule("check_device_code_known", "RFC 8628 §3.4, RFC 6749 §5.2", check_device_code_known),
    Rule("check_device_code_client", "RFC 8628 §3.4", check_device_code_client),
    Rule("check_device_code_unused", "RFC 8628 §3.5, RFC 6749 §5.2", check_device_code_unused),
    Rule("check_device_code_expiry", "RFC 8628 §3.5 expired_token", check_device_code_expiry),
    Rule("check_not_denied", "RFC 8628 §3.5 access_denied", check_not_denied),
    Rule("check_poll_interval", "RFC 8628 §3.5 slow_down", check_poll_interval),
    Rule("check_approved", "RFC 8628 §3.5 authorization_pending", check_approved),
    Rule("check_resource", "RFC 8707 §2.2", check_resource),
)


def decide_device_poll(ctx: PollContext) -> tuple[Check, ...]:
    return run_rules(POLL_RULES, ctx)
