"""The inspector's event log on SQLite and PostgreSQL: followed by id, pruned by count and age."""

from __future__ import annotations

from valetkey.store.sql import SQLStore
from valetkey.store.sql_events import EventLog, NewEvent


def event(n: int) -> NewEvent:
    return NewEvent(f"flow-{n}", float(n), f'{{"n":{n}}}')


def test_events_are_followed_by_id_and_pruned_to_the_newest(store: SQLStore) -> None:
    log = EventLog(store.db)
    log.append([event(n) for n in range(1, 6)], keep=3, before=0.0)
    kept = log.after(0)
    assert [r.body for r in kept] == ['{"n":3}', '{"n":4}', '{"n":5}']
    assert log.after(kept[0].id) == kept[1:]
    assert log.by_id([kept[2].id, kept[0].id, 10**9]) == [kept[0], kept[2]]
    assert log.newest(2) == kept[1:]
    log.append([event(6)], keep=100, before=4.5)  # older than 4.5: pruned by age
    assert [r.body for r in log.after(0)] == ['{"n":5}', '{"n":6}']
    assert log.after(log.newest(1)[0].id) == []
