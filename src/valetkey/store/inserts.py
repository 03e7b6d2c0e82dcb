"""The INSERTs of the rows a request creates (``NewRows``), shared by every atomic step."""

from __future__ import annotations

from valetkey.core.models import NewCode, NewDeviceCode, NewRows
from valetkey.store import statements as q
from valetkey.store.rows import (
    access_values,
    code_values,
    device_code_values,
    grant_values,
    refresh_values,
)
from valetkey.store.tx import Tx


def insert_device_code(tx: Tx, row: NewDeviceCode) -> None:
    tx.add(q.INSERT_DEVICE_CODE, device_code_values(row))


def insert_rows(tx: Tx, row: NewRows) -> None:
    if isinstance(row, NewCode):
        tx.insert(q.INSERT_GRANT, grant_values(row.grant))
        tx.insert(q.INSERT_CODE, code_values(row.code))
        return
    if isinstance(row, NewDeviceCode):
        insert_device_code(tx, row)
        return
    if row.grant is not None:
        tx.insert(q.INSERT_GRANT, grant_values(row.grant))
    if row.access is not None:
        tx.insert(q.INSERT_ACCESS, access_values(row.access))
    if row.refresh is not None:
        tx.insert(q.INSERT_REFRESH, refresh_values(row.refresh))
