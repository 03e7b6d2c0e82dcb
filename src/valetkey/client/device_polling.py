"""Waiting for the user in the device flow (RFC 8628 §3.4-3.5): when to poll, and for how long.

:class:`Pacing` is the pure part: the next poll is due ``interval`` seconds after the last answer,
``slow_down`` adds 5 seconds for good, a timed-out request doubles the wait (§3.5 asks for
exponential backoff), and nothing is sent once the device code has expired. The two drivers take
a clock and a sleep, so tests never sleep: :func:`wait_for_tokens` on an ``httpx.Client``,
:func:`await_tokens` on an ``httpx.AsyncClient``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from valetkey.client.checks import Noter
from valetkey.client.config import ClientConfig
from valetkey.client.device import Pending, expired, poll
from valetkey.client.device_response import DeviceAuthorization
from valetkey.client.errors import UnexpectedResponse
from valetkey.client.io import Flow, Observer, arun, run
from valetkey.client.tokens import TokenSet
from valetkey.core.clock import Clock, SystemClock


@dataclass(frozen=True)
class PollStatus:
    """What a progress display shows after each poll."""

    polls: int
    interval: float
    answer: str  # authorization_pending, slow_down or timeout
    expires_at: float


Report = Callable[[PollStatus], None]


class Pacing:
    """When the next poll is due (pure: times in, times out), and what each answer means."""

    def __init__(
        self,
        authorization: DeviceAuthorization,
        now: float,
        report: Report | None = None,
        note: Noter | None = None,
    ) -> None:
        self.authorization, self.note = authorization, note
        self.expires_at = authorization.expires_at
        self.interval = authorization.interval
        self.next_at = now + self.interval  # the user needs a moment before the first poll
        self.polls = 0
        self.report = report

    def wait(self, now: float) -> float:
        """Seconds to sleep before the next poll; DeviceCodeExpired when none fits before the
        device code expires (polling after that could only be answered expired_token)."""
        if self.next_at >= self.expires_at:
            raise expired(
                "the device code expires before the next poll is due: not approved in time"
            )
        return max(0.0, self.next_at - now)

    def poll(self, config: ClientConfig, now: float) -> Flow[TokenSet | Pending]:
        return poll(config, self.authorization, now, self.interval, self.note)

    def settle(self, now: float, got: TokenSet | Pending | None) -> TokenSet | None:
        """After a poll: the tokens, or None to go on (``got`` None: the request timed out)."""
        if isinstance(got, TokenSet):
            return got
        self.polls += 1
        # §3.5: slow_down's interval is kept for good; a timeout doubles the wait.
        self.interval = got.interval if got is not None else self.interval * 2
        self.next_at = now + self.interval
        answer = got.error if got is not None else "timeout"
        if self.report:
            self.report(PollStatus(self.polls, self.interval, answer, self.expires_at))
        return None


def raise_unless_timeout(exc: UnexpectedResponse) -> None:
    """A poll that timed out is retried later (§3.5: back off); any other failure raises."""
    if not isinstance(exc.__cause__, httpx.TimeoutException):
        raise exc


def wait_for_tokens(
    config: ClientConfig,
    authorization: DeviceAuthorization,
    http: httpx.Client,
    *,
    clock: Clock | None = None,
    sleep: Callable[[float], None] = time.sleep,
    observe: Observer | None = None,
    report: Report | None = None,
    note: Noter | None = None,
) -> TokenSet:
    """Poll until the user approves (a TokenSet), denies (AuthorizationDenied), or the code
    expires (DeviceCodeExpired); any other refusal raises as it would for another grant.
    ``report`` hears of each answer that says to go on, ``note`` of the tokens' checks."""
    clock = clock or SystemClock()
    pacing = Pacing(authorization, clock.now(), report, note)
    while True:
        sleep(pacing.wait(clock.now()))
        got: TokenSet | Pending | None = None
        try:
            got = run(pacing.poll(config, clock.now()), http, observe)
        except UnexpectedResponse as exc:
            raise_unless_timeout(exc)
        if (tokens := pacing.settle(clock.now(), got)) is not None:
            return tokens


async def await_tokens(
    config: ClientConfig,
    authorization: DeviceAuthorization,
    http: httpx.AsyncClient,
    *,
    clock: Clock | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    observe: Observer | None = None,
    report: Report | None = None,
    note: Noter | None = None,
) -> TokenSet:
    """:func:`wait_for_tokens` on an ``httpx.AsyncClient``."""
    clock = clock or SystemClock()
    pacing = Pacing(authorization, clock.now(), report, note)
    while True:
        await sleep(pacing.wait(clock.now()))
        got: TokenSet | Pending | None = None
        try:
            got = await arun(pacing.poll(config, clock.now()), http, observe)
        except UnexpectedResponse as exc:
            raise_unless_timeout(exc)
        if (tokens := pacing.settle(clock.now(), got)) is not None:
            return tokens
