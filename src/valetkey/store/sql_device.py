"""The Device Authorization Grant's codes (RFC 8628): written once for every backend.

The user's decision is one conditional UPDATE on a code still pending; a poll locks its row,
records its pace and, when the decision issues tokens, consumes the code with one conditional
UPDATE in the same transaction as the tokens it writes: of two polls at once, in one process or
two, exactly one receives tokens. A new code is written with its client's cap checked
(``store.held``), and codes long expired are purged then.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from valetkey.core.models import DeviceCode, NewDeviceCode
from valetkey.core.throttle import Decision
from valetkey.store import schema as t
from valetkey.store import statements as q
from valetkey.store.engine import SADatabase
from valetkey.store.held import admit
from valetkey.store.inserts import insert_rows
from valetkey.store.protocol import CapDecide, DevicePollDecision, T
from valetkey.store.rows import device_code_values, device_from_row
from valetkey.store.tx import Database


class DeviceTables:
    hot: Database
    db: SADatabase

    def add_device_code(
        self, row: NewDeviceCode, now: float, forget_before: float, cap: CapDecide | None
    ) -> Decision | None:
        """Store a new device code, unless ``cap`` refuses its client one more pending one (the
        refusal is returned). Codes that expired at or before ``forget_before`` are purged first,
        whatever the decision: each request that stores a code sweeps the old ones."""
        table = t.device_codes
        client_id = row.code.client_id
        with self.db.connect(write=True) as conn:
            conn.execute(sa.delete(table).where(table.c.expires_at <= forget_before))
            pending = (table.c.consumed_at.is_(None), table.c.denied_at.is_(None))
            refused = admit(conn, table, client_id, now, cap, *pending)
            if refused is not None:
                return refused
            conn.execute(q.INSERT_DEVICE_CODE.construct, device_code_values(row))
        return None

    def get_device_code(self, user_code_digest: str) -> DeviceCode | None:
        row = self.hot.one(q.GET_DEVICE_BY_USER_CODE, {"digest": user_code_digest})
        return device_from_row(row) if row else None

    def approve_device_code(
        self, user_code_digest: str, now: float, *, sub: str, grant_id: str, auth_time: float
    ) -> DeviceCode | None:
        """The code, approved by ``sub``; None when it is no longer pending (decided already,
        consumed, expired) or unknown."""
        params = {
            "digest": user_code_digest,
            "now": now,
            "user": sub,
            "grant": grant_id,
            "authenticated": auth_time,
        }
        return self._decide(q.APPROVE_DEVICE_CODE, params)

    def deny_device_code(self, user_code_digest: str, now: float) -> DeviceCode | None:
        """The code, denied; None when it is no longer pending, or unknown."""
        return self._decide(q.DENY_DEVICE_CODE, {"digest": user_code_digest, "now": now})

    def _decide(self, stmt: q.Statement, params: dict[str, Any]) -> DeviceCode | None:
        with self.hot.write() as tx:
            row = tx.one(stmt, params)
        return device_from_row(row) if row else None

    def poll_device_code(
        self, device_code_digest: str, now: float, decide: DevicePollDecision[T]
    ) -> T | None:
        key = {"digest": device_code_digest, "now": now}
        with self.hot.write() as tx:
            row = tx.one(q.GET_DEVICE_FOR_POLL, key)
            record = device_from_row(row) if row else None
            issuance, pace = decide(
                record, row.last_poll_at if row else None, row.poll_interval if row else 0
            )
            if pace is not None:
                polled, interval = pace
                tx.run(q.RECORD_DEVICE_POLL, {**key, "polled": polled, "pace": interval})
            if issuance is None:
                return None
            if tx.run(q.CONSUME_DEVICE_CODE, key) != 1:
                raise AssertionError("an approved device code locked for this poll was taken")
            insert_rows(tx, issuance)
            return issuance
