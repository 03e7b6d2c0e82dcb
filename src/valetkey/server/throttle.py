"""The guessing defences at work (core/throttle.py decides): counts in the store, or in Redis when
``throttle_redis_url`` is set, shared by every instance; every decision is an event.

Endpoints call :meth:`Throttle.check` before a password or secret is verified (a refused attempt
costs no Argon2 work), :meth:`Throttle.record_failure` after a wrong one and
:meth:`Throttle.record_success` after a right one. The device flow calls the same three with the
kind ``user_code``.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from functools import partial
from typing import Protocol

from starlette.requests import Request
from starlette.responses import Response

from valetkey.core import throttle
from valetkey.core.clock import Clock
from valetkey.core.events import Check, Emitter
from valetkey.core.secrets import digest
from valetkey.core.settings import Settings
from valetkey.core.throttle import Count, Decision, Kind
from valetkey.server.cookies import Signer, set_cookie
from valetkey.store.protocol import Store

Key = tuple[Kind, str]  # (kind, value): a username, a client IP address, a client_id, ...


class ThrottleCounts(Protocol):
    """Where counts live: the store (every instance on one database) or Redis."""

    def get_throttle(self, first: str, second: str) -> tuple[Count | None, Count | None]: ...
    def count_throttle_failure(
        self, key: str, now: float, forget: float, window_end: Callable[[int], float]
    ) -> Count: ...
    def clear_throttle(self, key: str) -> None: ...
    def close(self) -> None: ...


def counts_for(settings: Settings, store: Store) -> Store | ThrottleCounts:
    if settings.throttle_redis_url:
        from valetkey.store.throttle_redis import RedisThrottle

        redis: ThrottleCounts = RedisThrottle(settings.throttle_redis_url)
        return redis
    return store


def client_address(request: Request) -> str:
    """The client's address as counted (``core.throttle.address_key``: an IPv6 address's /64).
    Behind a proxy, uvicorn's ``--forwarded-allow-ips`` decides whether X-Forwarded-For is
    believed."""
    return throttle.address_key(request.client.host if request.client else "unknown")


class Throttle:
    def __init__(
        self, settings: Settings, counts: Store | ThrottleCounts, clock: Clock, salt: str
    ) -> None:
        self.settings, self.counts, self.clock, self._salt = settings, counts, clock, salt

    def _digest(self, key: Key) -> str:
        # Keyed with a server secret: a stored digest does not give back a username or address.
        return digest(f"{self._salt}\x00{key[0]}\x00{key[1]}")

    def check(self, *keys: Key) -> Decision:
        """Allowed, or the refusal of the key with the longest wait (one or two keys, one read)."""
        return worst(self.decide(*keys))

    def decide(self, *keys: Key) -> tuple[Decision, ...]:
        """Each key's decision (one or two keys, one read)."""
        now = self.clock.now()
        counts = self.counts.get_throttle(self._digest(keys[0]), self._digest(keys[-1]))
        return tuple(
            throttle.check(key[0], count, now, throttle.policy(key[0], self.settings))
            for key, count in zip(keys, counts[: len(keys)], strict=True)
        )

    def record_failure(self, *keys: Key) -> tuple[Decision, ...]:
        """Count one failure for each key; the decisions right after."""
        now = self.clock.now()
        out = []
        for kind, value in keys:
            p = throttle.policy(kind, self.settings)
            count = self.counts.count_throttle_failure(
                self._digest((kind, value)),
                now,
                p.forget,
                partial(throttle.window_end, now=now, p=p),
            )
            out.append(throttle.counted(kind, count.failures, now, p))
        return tuple(out)

    def count_request(self, kind: throttle.RateKind, value: str) -> Decision | None:
        """Count one request of a rated kind (core.throttle's rate) for ``value`` (an address),
        atomically across instances, and decide on it; None when the rate is off."""
        r = throttle.rate(kind, self.settings)
        if r is None:
            return None
        now = self.clock.now()
        counted, ends = throttle.rate_window(value, now, r)
        # ``forget`` of one window: the key is its window's, and its row goes a window later.
        count = self.counts.count_throttle_failure(
            self._digest((kind, counted)), now, r.window, lambda _: ends
        )
        return throttle.rate_counted(kind, count.failures, now, ends, r)

    def record_success(self, key: Key) -> None:
        """A success forgets the key's failures (an account's or a client's; never an address's)."""
        self.counts.clear_throttle(self._digest(key))

    def close(self, store: Store) -> None:
        """The counts' own connections (Redis's pool), at shutdown; counts kept in ``store`` are
        left to whoever closes the store."""
        if self.counts is not store:
            self.counts.close()


def worst(decisions: tuple[Decision, ...]) -> Decision:
    """The refusal with the longest wait, or the first decision when all allow."""
    refused = [d for d in decisions if not d.allowed]
    return max(refused, key=lambda d: d.wait) if refused else decisions[0]


KNOWN_COOKIE = "vk_known"
KNOWN_SECONDS = 90 * 24 * 3600


def _known_marker(username: str) -> str:
    return digest("known-account\x00" + username)[:32]


def known_browser(signer: Signer, request: Request, username: str) -> bool:
    """Whether this browser signed in to ``username`` before (a signed cookie, OWASP's "device
    cookie"): its sign-ins skip the account's delay, so that an attacker throttling the account
    does not keep its owner out; the address's delay still applies."""
    marker = signer.unsign("known", request.cookies.get(KNOWN_COOKIE))
    return marker is not None and hmac.compare_digest(marker, _known_marker(username))


def remember_browser(signer: Signer, response: Response, username: str, secure: bool) -> None:
    set_cookie(
        response,
        KNOWN_COOKIE,
        signer.sign("known", _known_marker(username)),
        secure=secure,
        max_age=KNOWN_SECONDS,
    )


def refused_check(decision: Decision) -> Check:
    return Check(decision.rule, "fail", decision.spec, f"wait {decision.wait} s")


def emit_refused(
    emit: Emitter, flow_id: str, decision: Decision, target: str, *, unchecked: bool = True
) -> None:
    """The event of an attempt refused without checking its password or secret (``unchecked``),
    or of a request refused by a rate or a cap."""
    how = "refused unchecked" if unchecked else "refused"
    emit(
        "throttle.refused",
        flow_id,
        channel="local",
        source="authorization_server",
        target="authorization_server",
        summary=f"{target} {how}: {decision.description}",
        checks=(refused_check(decision),),
        data=_data(decision),
        error="too_many_attempts",
    )


def emit_counted(emit: Emitter, flow_id: str, decisions: tuple[Decision, ...]) -> None:
    """One event per failure counted, with the delay it opens."""
    for d in decisions:
        later = f"next attempt in {d.wait} s" if d.wait else "no delay yet"
        emit(
            "throttle.failure_counted",
            flow_id,
            channel="local",
            source="authorization_server",
            target="authorization_server",
            summary=f"Failure {d.failures} counted ({d.kind}): {later}",
            checks=(Check(d.rule, "pass" if d.allowed else "fail", d.spec, later),),
            data=_data(d),
        )


def _data(d: Decision) -> dict[str, object]:
    data: dict[str, object] = {
        "kind": d.kind,
        "failures": d.failures,
        "wait": d.wait,
        "rule": d.rule,
        "spec": d.spec,
    }
    if d.limit:
        data["limit"] = d.limit
    return data


def with_retry_after(response: Response, decision: Decision) -> Response:
    response.headers["Retry-After"] = str(decision.wait)
    return response
