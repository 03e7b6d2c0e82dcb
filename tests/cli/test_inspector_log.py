"""The follower of the inspector's event log: every row once, late commits included."""

from __future__ import annotations

import time
from collections.abc import Iterable

from valetkey.cli.inspector_log import Follower, StoredSink
from valetkey.core.errors import StorageUnavailable
from valetkey.core.event_json import event_json
from valetkey.core.events import FlowEvent
from valetkey.store.sql_events import NewEvent, StoredEvent


def row(n: int) -> StoredEvent:
    event = FlowEvent(f"e.{n}", f"flow-{n}", "back", "client", "authorization_server", float(n))
    return StoredEvent(n, event_json(event))


class CommitsLate:
    """A table where rows become visible out of id order, as on PostgreSQL: ``visible`` grows."""

    def __init__(self) -> None:
        self.visible: set[int] = set()

    def after(self, after: int, limit: int = 1000) -> list[StoredEvent]:
        return [row(n) for n in sorted(self.visible) if n > after][:limit]

    def by_id(self, ids: Iterable[int]) -> list[StoredEvent]:
        return [row(n) for n in sorted(set(ids) & self.visible)]

    def newest(self, limit: int) -> list[StoredEvent]:
        return [row(n) for n in sorted(self.visible)][-limit:]


def test_a_row_committed_after_a_later_one_is_still_published_once() -> None:
    table = CommitsLate()
    seen: list[int] = []
    follower = Follower(table, lambda e: seen.append(e.seq))  # type: ignore[arg-type]
    table.visible = {1, 2}
    follower.poll()
    table.visible |= {4, 5}  # 3 is taken but not yet committed
    follower.poll()
    table.visible.add(3)
    follower.poll()
    follower.poll()
    assert seen == [1, 2, 4, 5, 3]
    assert follower.last == 5


class DownOnce:
    """An event log whose first write meets an outage."""

    def __init__(self) -> None:
        self.rows: list[NewEvent] = []
        self.attempts = 0

    def append(self, events: list[NewEvent], *, keep: int, before: float) -> None:
        self.attempts += 1
        if self.attempts == 1:
            raise StorageUnavailable("database down")
        self.rows.extend(events)


def test_events_wait_through_an_outage_and_are_written_in_order() -> None:
    log = DownOnce()
    sink = StoredSink(log, keep=100, keep_seconds=60)  # type: ignore[arg-type]
    for n in range(3):
        sink.emit(FlowEvent(f"e.{n}", "f", "back", "client", "authorization_server", float(n)))
    deadline = time.monotonic() + 30
    while len(log.rows) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    sink.close()
    assert log.attempts >= 2
    assert [r.time for r in log.rows] == [0.0, 1.0, 2.0]
