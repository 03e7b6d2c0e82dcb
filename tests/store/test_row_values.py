"""A new row's values are a tuple bound by position (``statements.Insert``, ``rows``): each value
lands in the column named as the record's field, on every backend's compiled form."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from valetkey.core.models import AccessTokenRecord, AuthorizationCode, Grant, RefreshToken
from valetkey.store import statements as q
from valetkey.store.rows import access_values, code_values, grant_values, refresh_values


def distinct(record_type: type[Any]) -> Any:
    """A record whose every field holds a value no other field holds."""
    values: dict[str, Any] = {}
    for i, field in enumerate(dataclasses.fields(record_type)):
        kind = str(field.type)
        if kind.startswith("tuple"):
            values[field.name] = (f"{field.name}-a", f"{field.name}-b")
        elif kind.startswith("float"):
            values[field.name] = float(i) + 0.5
        elif kind.startswith("bool"):
            values[field.name] = False  # the only field of its type: its default is True
        else:
            values[field.name] = f"{field.name}-{i}"
    return record_type(**values)


CASES: list[tuple[q.Insert, Callable[[Any], tuple[Any, ...]], type[Any]]] = [
    (q.INSERT_GRANT, grant_values, Grant),
    (q.INSERT_CODE, code_values, AuthorizationCode),
    (q.INSERT_ACCESS, access_values, AccessTokenRecord),
    (q.INSERT_REFRESH, refresh_values, RefreshToken),
]


@pytest.mark.parametrize(("stmt", "values", "record_type"), CASES)
def test_each_value_is_in_its_columns_place(
    stmt: q.Insert, values: Callable[[Any], tuple[Any, ...]], record_type: type[Any]
) -> None:
    record = distinct(record_type)
    expected = {}
    for name in stmt.columns:
        value = getattr(record, name)
        expected[name] = " ".join(value) if isinstance(value, tuple) else value
    assert dict(zip(stmt.columns, values(record), strict=True)) == expected


def test_every_insert_binds_in_column_order() -> None:
    """Compiling checks it (``Insert._placeholders`` raises otherwise)."""
    inserts = [s for s in vars(q).values() if isinstance(s, q.Insert)]
    assert len(inserts) >= 7
    for stmt in inserts:
        assert stmt.sqlite.args(dict.fromkeys(stmt.columns, 0)) == (0,) * len(stmt.columns)
        assert stmt.postgres.text.startswith(b"INSERT")
