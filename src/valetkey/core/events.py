"""Flow events: every protocol step emits one, named ``noun.verb``.

The server reaches the inspector (and logs, and tests) only through an injected :class:`EventSink`.
Secrets never enter an event: :func:`redact` replaces them before the event is built.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

from valetkey.core.clock import Clock, SystemClock
from valetkey.core.records import fast_init

Channel = Literal["front", "back", "local"]
Actor = Literal["user", "browser", "client", "authorization_server", "resource_server"]
Outcome = Literal["pass", "fail", "skip"]
# The data key naming the user an event acts for: their username (server/acting.py builds it, the
# inspector's flow summary and its ``?user=`` filter read it).
ACTING_USER = "user"

# Parameter and header names whose values are secrets (compared lower-case).
SECRET_NAMES = frozenset(
    {
        "password",
        "client_secret",
        "code",
        "code_verifier",
        "device_code",  # RFC 8628 §5.2: polls for the user's tokens
        "user_code",  # RFC 8628 §5.1: approves a device, if typed in time
        "verification_uri_complete",  # carries the user code
        "refresh_token",
        "access_token",
        "id_token",
        "token",
        "authorization",
        "cookie",
        "set-cookie",
        "csrf_token",
        "assertion",
        "client_assertion",
        "dpop",  # a captured proof can be replayed until it expires (RFC 9449 §11.1)
        "registration_access_token",
        "initial_access_token",
    }
)


def mask(value: str) -> str:
    """Keep a short prefix so a reader can tell two values apart, never enough to use one."""
    if len(value) <= 8:
        return "[redacted]"
    return value[:4] + "…[redacted]"


def redact(values: Mapping[str, Any], extra: Iterable[str] = ()) -> dict[str, Any]:
    secret = SECRET_NAMES | {name.lower() for name in extra}
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key.lower() in secret and isinstance(value, str):
            out[key] = mask(value)
        elif key.lower() in secret:
            out[key] = "[redacted]"
        else:
            out[key] = value
    return out


@fast_init
@dataclass(frozen=True)
class Check:
    """One validation rule's outcome, with the spec section that requires it."""

    rule: str
    outcome: Outcome
    spec: str
    detail: str = ""


@dataclass(frozen=True)
class HttpExchange:
    method: str
    url: str
    request_headers: Mapping[str, str] = field(default_factory=dict)
    request_body: Mapping[str, Any] = field(default_factory=dict)
    status: int | None = None
    response_headers: Mapping[str, str] = field(default_factory=dict)
    response_body: Any = None


@dataclass(frozen=True)
class FlowEvent:
    name: str
    flow_id: str
    channel: Channel
    source: Actor
    target: Actor
    time: float
    summary: str = ""
    checks: tuple[Check, ...] = ()
    http: HttpExchange | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None
    deprecated: str | None = None
    seq: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None and all(c.outcome != "fail" for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class EventSink(Protocol):
    def emit(self, event: FlowEvent) -> None: ...


class NullSink:
    def emit(self, event: FlowEvent) -> None:
        return None


class RecordingSink:
    """Keeps every event in memory, numbered in arrival order (tests, the demo)."""

    def __init__(self, limit: int = 10_000) -> None:
        self.events: list[FlowEvent] = []
        self._limit = limit
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        self._listeners: list[Callable[[FlowEvent], None]] = []

    def emit(self, event: FlowEvent) -> None:
        with self._lock:
            numbered = _with_seq(event, next(self._counter))
            self.events.append(numbered)
            if len(self.events) > self._limit:
                del self.events[: len(self.events) - self._limit]
            listeners = list(self._listeners)
        for listener in listeners:
            listener(numbered)

    def subscribe(self, listener: Callable[[FlowEvent], None]) -> None:
        with self._lock:
            self._listeners.append(listener)

    def named(self, name: str) -> list[FlowEvent]:
        return [e for e in self.events if e.name == name]


# The id of the request being answered, when request ids are on (the HTTP runtime sets it): every
# event emitted while it is set carries it as ``data["request_id"]``, and JSON log lines as well.
REQUEST_ID: ContextVar[str | None] = ContextVar("valetkey_request_id", default=None)

# Sees every event's name, data, error and checks, even when no sink wants the event (metrics).
Tap = Callable[[str, Mapping[str, Any], "str | None", "tuple[Check, ...]"], None]


class Emitter:
    """Builds and sends events with the time from a clock; builds nothing for a NullSink.

    A ``tap`` (metrics) sees the parts of every event without the event being built: callers
    then still call the emitter (``observed``), but skip the costly parts (``detailed``)."""

    def __init__(self, sink: EventSink, clock: Clock | None = None, tap: Tap | None = None) -> None:
        self.sink = sink
        self.clock: Clock = clock or SystemClock()
        self.tap = tap

    @property
    def observed(self) -> bool:
        """Someone wants to hear of events: a sink or a tap."""
        return self.tap is not None or not isinstance(self.sink, NullSink)

    @property
    def detailed(self) -> bool:
        """A sink wants whole events (their HTTP exchanges included)."""
        return not isinstance(self.sink, NullSink)

    def __call__(
        self,
        name: str,
        flow_id: str,
        *,
        channel: Channel,
        source: Actor,
        target: Actor,
        summary: str,
        checks: tuple[Check, ...] = (),
        http: HttpExchange | None = None,
        data: Mapping[str, Any] | None = None,
        error: str | None = None,
        deprecated: str | None = None,
    ) -> None:
        if self.tap is not None:
            self.tap(name, data or {}, error, checks)
        if isinstance(self.sink, NullSink):
            return
        request_id = REQUEST_ID.get()
        if request_id is not None:
            data = {**(data or {}), "request_id": request_id}
        self.sink.emit(
            FlowEvent(
                name=name,
                flow_id=flow_id,
                channel=channel,
                source=source,
                target=target,
                time=self.clock.now(),
                summary=summary,
                checks=checks,
                http=http,
                data=dict(data or {}),
                error=error,
                deprecated=deprecated,
            )
        )


def _with_seq(event: FlowEvent, seq: int) -> FlowEvent:
    from dataclasses import replace

    return replace(event, seq=seq)
