"""Pushed Authorization Requests (RFC 9126): stored at /par, read by /authorize's pages, used
once when the code is issued (one conditional UPDATE: of two instances, exactly one succeeds).
Capped per client (``store.held``); expired ones are purged by every push."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from valetkey.core.throttle import Decision
from valetkey.store import schema as t
from valetkey.store.engine import SADatabase
from valetkey.store.held import admit
from valetkey.store.protocol import CapDecide
from valetkey.store.text import storable

Pushed = tuple[str, dict[str, list[str]]]  # (client_id, the request's parameters)


class ParTables:
    db: SADatabase

    def push_request(
        self,
        digest: str,
        client_id: str,
        params: dict[str, list[str]],
        expires_at: float,
        now: float,
        cap: CapDecide | None = None,
    ) -> Decision | None:
        """Store the request, unless ``cap`` refuses the client one more unused one (its
        refusal is returned); expired requests are purged first, whatever the decision."""
        table = t.pushed_requests
        with self.db.connect(write=True) as conn:
            conn.execute(sa.delete(table).where(table.c.expires_at <= now))  # few: they live 60 s
            refused = admit(conn, table, client_id, now, cap, table.c.used_at.is_(None))
            if refused is not None:
                return refused
            values = {
                "request_digest": digest,
                "client_id": client_id,
                "params": json.dumps(params),
                "expires_at": expires_at,
            }
            conn.execute(sa.insert(table).values(**values))
        return None

    def get_pushed_request(self, digest: str, now: float) -> Pushed | None:
        """The pushed request, while unexpired and unused."""
        if not storable(digest):
            return None
        table = t.pushed_requests
        query = sa.select(table.c.client_id, table.c.params).where(
            table.c.request_digest == digest,
            table.c.expires_at > now,
            table.c.used_at.is_(None),
        )
        with self.db.connect() as conn:
            row: Any = conn.execute(query).first()
        if row is None:
            return None
        return str(row.client_id), dict(json.loads(row.params))

    def use_pushed_request(self, digest: str, now: float) -> bool:
        """Mark it used; False when it was used, expired or unknown already."""
        if not storable(digest):
            return False
        table = t.pushed_requests
        query = (
            sa.update(table)
            .where(
                table.c.request_digest == digest,
                table.c.expires_at > now,
                table.c.used_at.is_(None),
            )
            .values(used_at=now)
        )
        with self.db.connect(write=True) as conn:
            return bool(conn.execute(query).rowcount)
