"""The inspector's events in the database: a sink that writes them off the request path, and a
follower that reads every instance's events back into this process's inspector.

``StoredSink.emit`` only appends to a queue (no I/O, no JSON): a writer thread turns the queue
into one INSERT batch every ``FLUSH_SECONDS`` (or sooner when ``BATCH`` events wait), and prunes
the table to the retention limits in the same transaction. If the database is down, the newest
``MAX_PENDING`` events wait and older ones are dropped: a request never waits for the inspector.

``Follower`` reads the table by id every ``POLL_SECONDS`` while someone watches the inspector and
publishes each new event to the bus; ids skipped on PostgreSQL (a transaction that commits after a
later one) are looked up again for ``GAP_SECONDS``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from valetkey.core.event_json import event_from_json, event_json
from valetkey.core.events import FlowEvent
from valetkey.store.sql_events import EventLog, NewEvent, StoredEvent

FLUSH_SECONDS = 0.5
POLL_SECONDS = 0.25
GAP_SECONDS = 10.0
BATCH = 500
MAX_PENDING = 20_000
BACKLOG = 5_000  # events read back at first sight: the newest flows of every instance
IDLE_SECONDS = 60.0

log = logging.getLogger("valetkey.inspector")


class StoredSink:
    def __init__(self, events: EventLog, keep: int, keep_seconds: int) -> None:
        self.events, self.keep, self.keep_seconds = events, keep, keep_seconds
        self._queue: deque[FlowEvent] = deque(maxlen=MAX_PENDING)
        self._wake = threading.Event()
        self._stopping = False
        self._failing = False
        self._thread = threading.Thread(target=self._run, name="vk-event-writer", daemon=True)
        self._thread.start()

    def emit(self, event: FlowEvent) -> None:
        self._queue.append(event)  # deque.append is atomic: no lock on the request path
        if len(self._queue) >= BATCH:
            self._wake.set()

    def close(self) -> None:
        """Write what waits, then stop (at exit)."""
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            self._wake.wait(FLUSH_SECONDS)
            self._wake.clear()
            while self._queue:
                if not self._write():
                    break
            if self._stopping:
                return

    def _write(self) -> bool:
        batch: list[FlowEvent] = []
        while self._queue and len(batch) < BATCH:
            batch.append(self._queue.popleft())
        rows = [NewEvent(e.flow_id, e.time, event_json(e)) for e in batch]
        try:
            self.events.append(rows, keep=self.keep, before=time.time() - self.keep_seconds)
        except Exception as exc:  # an outage, a lock: try again on the next flush
            self._queue.extendleft(reversed(batch))
            if not self._failing:
                log.warning("inspector: cannot write events (%s); will retry", type(exc).__name__)
            self._failing = True
            return False
        self._failing = False
        return True


class Follower:
    """Reads only while someone watches (a request in the last ``IDLE_SECONDS``, or an open
    stream): a server whose inspector nobody opens spends nothing on reading its events back."""

    def __init__(self, events: EventLog, publish: Callable[[FlowEvent], None]) -> None:
        self.events, self.publish = events, publish
        self.last = 0
        self.watchers = 0  # open requests (the event streams stay open)
        self._touched = -IDLE_SECONDS
        self._loaded = False
        self._lock = threading.Lock()
        self._gaps: dict[int, float] = {}  # a skipped id -> until when to look for it
        self._thread = threading.Thread(target=self._run, name="vk-event-follower", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def watched(self) -> None:
        """A request to the inspector: catch up now (in the request's worker thread)."""
        self._touched = time.monotonic()
        self.catch_up()

    def catch_up(self) -> None:
        with self._lock:
            if not self._loaded:  # the page opens on the newest flows of every instance
                self._take(self.events.newest(BACKLOG), backlog=True)
                self._loaded = True
            self.poll()

    def _run(self) -> None:
        while True:
            time.sleep(POLL_SECONDS)
            if self.watchers or time.monotonic() - self._touched < IDLE_SECONDS:
                try:
                    self.catch_up()
                except Exception as exc:  # an outage: the next poll starts from the same id
                    log.debug("inspector: cannot follow events (%s)", type(exc).__name__)

    def poll(self) -> None:
        now = time.monotonic()
        self._gaps = {i: t for i, t in self._gaps.items() if t > now}
        if self._gaps:
            late = self.events.by_id(self._gaps)
            for row in late:
                del self._gaps[row.id]
            self._take(late, backlog=False)
        while rows := self.events.after(self.last):
            self._take(rows, backlog=False)

    def _take(self, rows: list[StoredEvent], *, backlog: bool) -> None:
        until = time.monotonic() + GAP_SECONDS
        for row in rows:
            if row.id > self.last:
                if not backlog and row.id - self.last <= BATCH:
                    self._gaps.update((i, until) for i in range(self.last + 1, row.id))
                self.last = row.id
            try:
                event = event_from_json(row.body, row.id)
            except (ValueError, TypeError, KeyError):
                continue  # a row this version cannot read (a newer one wrote it)
            self.publish(event)
