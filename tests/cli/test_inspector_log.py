"""The follower of the inspector's event log: every row once, late commits included."""

from __future__ import annotations

from collections.abc import Iterable

from valetkey.cli.inspector_log import Follower
from valetkey.core.event_json import event_json
from valetkey.core.events import FlowEvent
from valetkey.store.sql_events import StoredEvent


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
