"""A new row's values are a tuple bound by position (``statements.Insert``, ``rows``): each value
lands in the column named as the record's field, on every backend's compiled form; and a record
read back from its row is the record stored, whether built by keyword or by position."""

from __future__ import annotations

import dataclasses
from collections import namedtuple
from collections.abc import Callable
from typing import Any

import pytest

from valetkey.core.models import AccessTokenRecord, AuthorizationCode, Grant, RefreshToken
from valetkey.store import schema as t
from valetkey.store import statements as q
from valetkey.store.rows import (
    access_from_row,
    access_values,
    code_from_row,
    code_values,
    grant_from_row,
    grant_values,
    refresh_from_row,
    refresh_values,
)


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


def column_value(record: Any, name: str) -> Any:
    value = getattr(record, name)
    return " ".join(value) if isinstance(value, tuple) else value


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
    expected = {name: column_value(record, name) for name in stmt.columns}
    assert dict(zip(stmt.columns, values(record), strict=True)) == expected


@pytest.mark.parametrize(
    ("table", "from_row", "record_type"),
    [
        (t.grants, grant_from_row, Grant),
        (t.authorization_codes, code_from_row, AuthorizationCode),
        (t.access_tokens, access_from_row, AccessTokenRecord),
        (t.refresh_tokens, refresh_from_row, RefreshToken),
    ],
)
def test_a_record_read_back_from_its_row_is_the_record(
    table: Any, from_row: Callable[[Any], Any], record_type: type[Any]
) -> None:
    record = distinct(record_type)
    columns = [c.name for c in table.c]
    row = namedtuple("Row", columns)(*(column_value(record, name) for name in columns))
    assert from_row(row) == record


def test_every_insert_binds_in_column_order() -> None:
    """Compiling checks it (``Insert._placeholders`` raises otherwise)."""
    inserts = [s for s in vars(q).values() if isinstance(s, q.Insert)]
    assert len(inserts) >= 7
    for stmt in inserts:
        assert stmt.sqlite.args(dict.fromkeys(stmt.columns, 0)) == (0,) * len(stmt.columns)
        assert stmt.postgres.text.startswith(b"INSERT")
