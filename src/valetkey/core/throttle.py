"""Guessing defences: growing delays after failed attempts (RFC 6749 §10.10, NIST SP 800-63B
§5.2.2), a pure decision: a count of failures and the time in, "allowed" or "wait N seconds" out.

Each kind of key has its own counter and policy:

- ``account``: failed sign-ins (the sign-in form, the password grant) for one username, from any
  address. Its delay is capped short: an attacker can slow a user down, never lock them out.
- ``address``: every failed sign-in and client authentication from one client IP address, capped
  long: one address guessing soon gets one try per cap.
- ``client``: failed client authentications (``client_secret_basic``, ``client_secret_post``) of
  one client_id at /token, /introspect and /revoke; capped short, like an account.
- ``user_code``: wrong user codes entered for the device flow (RFC 8628 §5.1), per address.

The first ``free`` failures cost nothing; then each failure opens a window in which attempts are
refused without checking the password or secret: ``first_delay`` seconds, doubling with every
further failure up to ``cap``. A refused attempt is not a failure: it neither counts nor extends
the window. Failures are forgotten ``forget`` seconds after their window ends, and a success
forgets an account's or client's failures (never an address's: an attacker signing in to their own
account must not wipe the count of their guesses at others).
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from typing import Literal

from valetkey.core.settings import Settings

Kind = Literal["account", "address", "client", "user_code", "registration"]
KINDS: tuple[Kind, ...] = ("account", "address", "client", "user_code", "registration")

SPECS: dict[Kind, str] = {
    "account": "NIST SP 800-63B §5.2.2, RFC 6749 §10.10",
    "address": "RFC 6749 §10.10, NIST SP 800-63B §5.2.2",
    "client": "RFC 6749 §10.10, §2.3.1",
    "user_code": "RFC 8628 §5.1",
    "registration": "RFC 7591 §5 (registration flooding), RFC 6749 §10.10",
}
RULES: dict[Kind, str] = {kind: f"throttle_{kind}" for kind in KINDS}
NOUNS: dict[Kind, str] = {
    "account": "sign-ins for this account",
    "address": "attempts from this address",
    "client": "client authentications",
    "user_code": "user code entries",
    "registration": "client registrations from this address",
}
_MAX_DOUBLINGS = 40  # 2**40 seconds is past any cap: no huge integers from a huge count


@dataclass(frozen=True)
class Policy:
    free: int  # failures allowed before any delay
    first_delay: int  # seconds of the first delay
    cap: int  # the longest delay, in seconds
    forget: int  # failures are forgotten this many seconds after their window ends


@dataclass(frozen=True)
class Count:
    """What is stored for one key: the failures counted, and the end of their window (the time
    of the last failure when it opened none)."""

    failures: int
    until: float


@dataclass(frozen=True)
class Decision:
    kind: Kind
    allowed: bool
    wait: int  # whole seconds until an attempt is allowed; 0 when it is
    failures: int  # failures still remembered

    @property
    def rule(self) -> str:
        return RULES[self.kind]

    @property
    def spec(self) -> str:
        return SPECS[self.kind]

    @property
    def in_words(self) -> str:
        """The wait: "1 second", "8 seconds"."""
        return f"{self.wait} second" + ("" if self.wait == 1 else "s")

    @property
    def description(self) -> str:
        """The refusal, for a client developer or a user (no ``§``: see core.text)."""
        return f"too many failed {NOUNS[self.kind]}: try again in {self.in_words}"


IPV6_PREFIX = 64  # one subscriber's usual allocation: a host there has 2**64 addresses to rotate


def address_key(host: str) -> str:
    """The value an ``address`` is counted under: an IPv4 address itself, an IPv6 address's /64
    (a single machine can take any address of its /64), anything else as it came."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, IPV6_PREFIX), strict=False))
    return str(ip)


def policy(kind: Kind, settings: Settings) -> Policy:
    cap = (
        settings.throttle_address_cap if kind in ("address", "user_code", "registration") else None
    )
    return Policy(
        free=settings.throttle_free_failures,
        first_delay=settings.throttle_first_delay,
        cap=cap if cap is not None else settings.throttle_account_cap,
        forget=settings.throttle_forget,
    )


def delay(failures: int, p: Policy) -> int:
    """Seconds refused after the ``failures``-th failure: none for the free ones, then
    ``first_delay`` doubling per failure, at most ``cap``."""
    beyond = failures - p.free
    if beyond <= 0:
        return 0
    doublings: int = min(beyond - 1, _MAX_DOUBLINGS)
    return min(p.cap, p.first_delay << doublings)


def remembered(count: Count | None, now: float, p: Policy) -> int:
    """The failures that still count at ``now``."""
    if count is None or now >= count.until + p.forget:
        return 0
    return count.failures


def check(kind: Kind, count: Count | None, now: float, p: Policy) -> Decision:
    failures = remembered(count, now, p)
    if count is None or failures == 0 or now >= count.until:
        return Decision(kind, True, 0, failures)
    return Decision(kind, False, max(1, math.ceil(count.until - now)), failures)


def window_end(failures: int, now: float, p: Policy) -> float:
    """When the window opened by the ``failures``-th failure, made at ``now``, ends."""
    return now + delay(failures, p)


def counted(kind: Kind, failures: int, now: float, p: Policy) -> Decision:
    """The decision right after the ``failures``-th failure was counted at ``now``."""
    wait = delay(failures, p)
    return Decision(kind, wait == 0, wait, failures)
