"""The inspector's event log: the ``events`` table, written once for SQLite and PostgreSQL.

Rows are appended in batches (one transaction each, pruned in the same one) and read by following
the id. On PostgreSQL ids are taken when a row is inserted but seen when its transaction commits,
so a reader may see id 7 before id 6: it looks again for the ids it skipped (``by_id``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

from valetkey.store import statements as q
from valetkey.store.engine import SADatabase


class StoredEvent(NamedTuple):
    id: int
    body: str


class NewEvent(NamedTuple):
    flow_id: str
    time: float
    body: str


class EventLog:
    def __init__(self, db: SADatabase) -> None:
        self.db = db

    def append(self, events: Sequence[NewEvent], *, keep: int, before: float) -> None:
        """Write ``events``, then delete all but the newest ``keep`` and those older than
        ``before``, in one transaction. Raises ``StorageUnavailable`` in an outage."""
        if not events:
            return
        with self.db.connect(write=True) as conn:
            conn.execute(q.APPEND_EVENT.construct, [e._asdict() for e in events])
            conn.execute(q.PRUNE_EVENTS.construct, {"keep": keep, "before": before})

    def after(self, after: int, limit: int = 1000) -> list[StoredEvent]:
        """The events with an id above ``after``, oldest first."""
        return self._rows(q.EVENTS_AFTER, {"after": after, "limit": limit})

    def by_id(self, ids: Iterable[int]) -> list[StoredEvent]:
        wanted = sorted(ids)
        return self._rows(q.EVENTS_BY_ID, {"ids": wanted}) if wanted else []

    def newest(self, limit: int) -> list[StoredEvent]:
        """The newest ``limit`` events, oldest first."""
        return self._rows(q.NEWEST_EVENTS, {"limit": limit})[::-1]

    def _rows(self, stmt: q.Statement, params: dict[str, object]) -> list[StoredEvent]:
        with self.db.connect() as conn:
            return [
                StoredEvent(int(r.id), str(r.body)) for r in conn.execute(stmt.construct, params)
            ]
