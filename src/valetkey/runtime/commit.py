"""Group commit: the answers of one event-loop step on the fast path, sent together once the rows
behind them are durable.

Under load, the requests of one step are those one poll of the sockets delivered. Their answers
are held and leave together at the start of the next step, before the loop polls again; the new
rows behind them (codes, grants, tokens) are first written in one transaction. So no answer leaves
before its rows are durable, one transaction serves the whole batch, and the server takes the next
batch in one wake-up instead of one per request.

If the shared transaction fails, each request's rows are tried again on their own, and a request
whose own write fails gets its failure's answer (503 while the storage is unavailable, else 500).
Once one of those retries finds the storage unavailable, the requests left get 503 without a retry
each: every one would wait out the same outage, with the event loop stopped meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Sequence
from itertools import chain
from operator import itemgetter
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import Response

from valetkey.core.errors import StorageUnavailable
from valetkey.runtime.app import Runtime
from valetkey.runtime.routes import Route


class Holder(Protocol):
    """The connection an answer is held for (``lean.LeanProtocol``): it sends the answer, or is
    dropped when it cannot take it."""

    transport: Any

    def write_held(self, response: Response) -> None: ...


log = logging.getLogger("valetkey.runtime")


# One held answer: its connection, route, request, rows and response (a plain tuple: one per
# request on the hot path).
Held = tuple[Holder, Route, Request, Sequence[Any], Response]
_ROWS = itemgetter(3)


class Step:
    def __init__(self, runtime: Runtime, loop: asyncio.AbstractEventLoop) -> None:
        self.runtime = runtime
        self.loop = loop
        self.waiting: list[Held] = []

    def add(self, held: Held) -> None:
        if not self.waiting:
            self.loop.call_soon(self.flush)
        self.waiting.append(held)

    def flush(self) -> None:
        waiting, self.waiting = self.waiting, []
        new = list(chain.from_iterable(map(_ROWS, waiting)))
        if new:
            try:
                self.runtime.write_rows(new)
            except Exception as exc:
                log.warning("group commit of %d answers failed (%r); each alone", len(waiting), exc)
                self._one_by_one(waiting)
                return
        for held in waiting:  # a connection that cannot take its answer is dropped, not the rest
            try:
                held[0].write_held(held[4])
            except Exception:
                _dropped(held[0])

    def _one_by_one(self, waiting: list[Held]) -> None:
        outage: StorageUnavailable | None = None
        for protocol, route, request, rows, response in waiting:
            failed = None
            if rows and outage is not None:
                failed = self.runtime.failed(route.page, request, outage)
            elif rows:
                try:
                    self.runtime.write_rows(rows)
                except Exception as exc:
                    if isinstance(exc, StorageUnavailable):
                        outage = exc
                    failed = self.runtime.failed(route.page, request, exc)
            _send(protocol, failed or response)


def _send(protocol: Holder, response: Response) -> None:
    """One held answer; a connection that cannot take it is dropped, not the rest of the step."""
    try:
        protocol.write_held(response)
    except Exception:
        _dropped(protocol)


def _dropped(protocol: Holder) -> None:
    log.exception("could not send an answer; closing its connection")
    protocol.transport.abort()


_steps: weakref.WeakKeyDictionary[Runtime, Step] = weakref.WeakKeyDictionary()


def step_for(runtime: Runtime, loop: asyncio.AbstractEventLoop) -> Step:
    """The runtime's ``Step`` on this event loop (one per worker process)."""
    step = _steps.get(runtime)
    if step is None or step.loop is not loop:
        step = _steps[runtime] = Step(runtime, loop)
    return step
