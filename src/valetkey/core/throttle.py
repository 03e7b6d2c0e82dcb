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

Floods of stored rows (RFC 6819 §4.4.1.11): a device authorization (RFC 8628 §3.1) or a pushed
authorization request (RFC 9126 §2) stores a row with no user involved, so two more rules apply:

- a **rate** (kinds ``device_authorization``, ``pushed_request``): requests of public clients per
  address, at most ``limit`` in each fixed window of ``window`` seconds. Every request is counted,
  atomically, before it is decided (no read-then-write race); a refusal waits for the window's end.
- a **cap** (kinds ``device_code_cap``, ``pushed_request_cap``): the unexpired, unfinished rows one
  client may have at once, counted in the database when the row is written; a refusal waits until
  the earliest of them expires.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, get_args

from valetkey.core.settings import Settings

RateKind = Literal["device_authorization", "pushed_request"]
CapKind = Literal["device_code_cap", "pushed_request_cap"]
Kind = Literal[
    "account",
    "address",
    "client",
    "user_code",
    "registration",
    "device_authorization",
    "pushed_request",
    "device_code_cap",
    "pushed_request_cap",
]
KINDS: tuple[Kind, ...] = get_args(Kind)
FLOODING = "RFC 6819 §4.4.1.11"  # DoS attacks that exhaust resources: limit what one party holds

SPECS: dict[Kind, str] = {
    "account": "NIST SP 800-63B §5.2.2, RFC 6749 §10.10",
    "address": "RFC 6749 §10.10, NIST SP 800-63B §5.2.2",
    "client": "RFC 6749 §10.10, §2.3.1",
    "user_code": "RFC 8628 §5.1",
    "registration": "RFC 7591 §5 (registration flooding), RFC 6749 §10.10",
    "device_authorization": f"RFC 8628 §3.1, {FLOODING}, RFC 6585 §4",
    "pushed_request": f"RFC 9126 §2.3, {FLOODING}",
    "device_code_cap": f"RFC 8628 §3.2, {FLOODING}, RFC 6585 §4",
    "pushed_request_cap": f"RFC 9126 §2.3, {FLOODING}",
}
RULES: dict[Kind, str] = {kind: f"throttle_{kind}" for kind in KINDS}
NOUNS: dict[Kind, str] = {
    "account": "sign-ins for this account",
    "address": "attempts from this address",
    "client": "client authentications",
    "user_code": "user code entries",
    "registration": "client registrations from this address",
    "device_authorization": "device authorization requests from this address",
    "pushed_request": "pushed authorization requests from this address",
    "device_code_cap": "device codes waiting for a user",
    "pushed_request_cap": "pushed authorization requests not yet used",
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
    failures: int  # failures still remembered (a rate: requests in the window; a cap: rows held)
    limit: int = 0  # a rate's requests per window, a cap's rows; 0 for the guessing kinds

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
        noun = NOUNS[self.kind]
        if self.kind in RATE_KINDS:
            return (
                f"too many {noun} (at most {self.limit} a minute for a public client): "
                f"try again in {self.in_words}"
            )
        if self.kind in CAP_KINDS:
            return (
                f"this client has {self.failures} {noun}, the most this server keeps for one "
                f"client: try again in {self.in_words}, when the earliest expires"
            )
        return f"too many failed {noun}: try again in {self.in_words}"


IPV6_PREFIX = 64  # one subscriber's usual allocation: a host there has 2**64 addresses to rotate


@lru_cache(maxsize=4096)  # parsed once per address, not at every sign-in (a pure function)
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


# -- floods of stored rows: a rate per address, a cap per client ----------------------------------

RATE_KINDS: tuple[RateKind, ...] = ("device_authorization", "pushed_request")
CAP_KINDS: tuple[CapKind, ...] = ("device_code_cap", "pushed_request_cap")
RATE_WINDOW = 60  # seconds: the settings are "per minute"


@dataclass(frozen=True)
class Rate:
    limit: int  # requests allowed in one window
    window: int  # seconds


def rate(kind: RateKind, settings: Settings) -> Rate | None:
    """The kind's rate, or None when the operator turned it off (0)."""
    limit = (
        settings.device_authorizations_per_minute
        if kind == "device_authorization"
        else settings.pushed_requests_per_minute
    )
    return Rate(limit, RATE_WINDOW) if limit > 0 else None


def rate_window(value: str, now: float, r: Rate) -> tuple[str, float]:
    """(the key counted: ``value`` in the window that holds ``now``, the window's end). Each
    window is a key of its own, so that its count starts at zero without any reset."""
    index = math.floor(now / r.window)
    return f"{value}\x00{index}", float((index + 1) * r.window)


def rate_counted(kind: RateKind, requests: int, now: float, ends: float, r: Rate) -> Decision:
    """The decision on the ``requests``-th request of its window (this one counted)."""
    if requests <= r.limit:
        return Decision(kind, True, 0, requests, r.limit)
    return Decision(kind, False, max(1, math.ceil(ends - now)), requests, r.limit)


def cap(kind: CapKind, settings: Settings) -> int | None:
    """The kind's cap, or None when the operator turned it off (0)."""
    n = (
        settings.device_codes_per_client
        if kind == "device_code_cap"
        else settings.pushed_requests_per_client
    )
    return n if n > 0 else None


def cap_check(
    kind: CapKind, held: int, earliest_expiry: float | None, now: float, limit: int
) -> Decision:
    """Whether a client holding ``held`` unexpired, unfinished rows may store one more; a refusal
    waits until the earliest of them expires."""
    if held < limit:
        return Decision(kind, True, 0, held, limit)
    left = (earliest_expiry - now) if earliest_expiry is not None else 1.0
    return Decision(kind, False, max(1, math.ceil(left)), held, limit)
