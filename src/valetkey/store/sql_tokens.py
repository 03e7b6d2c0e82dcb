"""Codes, grants and tokens: the store's atomic steps, each written once for every backend.

A code is consumed, or a refresh token rotated, by one conditional UPDATE inside the write
transaction that also writes what the decision issued; a refused decision rolls all of it back,
and a refusal that carries a :class:`~valetkey.core.revocation.Revocation` is then applied.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from valetkey.core.models import AccessTokenRecord, Grant, NewCode, NewRows, RefreshToken
from valetkey.core.revocation import Refused, Revocation
from valetkey.store import schema as t
from valetkey.store import statements as q
from valetkey.store.engine import SADatabase
from valetkey.store.protocol import CodeDecision, RefreshDecision, T
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
from valetkey.store.text import storable
from valetkey.store.tx import Database, Tx


def insert_rows(tx: Tx, row: NewRows) -> None:
    if isinstance(row, NewCode):
        tx.add(q.INSERT_GRANT, grant_values(row.grant))
        tx.add(q.INSERT_CODE, code_values(row.code))
        return
    if row.grant is not None:
        tx.add(q.INSERT_GRANT, grant_values(row.grant))
    if row.access is not None:
        tx.add(q.INSERT_ACCESS, access_values(row.access))
    if row.refresh is not None:
        tx.add(q.INSERT_REFRESH, refresh_values(row.refresh))


class TokenTables:
    """Mixed into SQLStore: ``hot`` runs the statements (the raw driver on SQLite files),
    ``db`` the queries built per call."""

    hot: Database
    db: SADatabase

    def save_all(self, rows: Sequence[NewRows]) -> None:
        with self.hot.write() as tx:
            for row in rows:
                insert_rows(tx, row)

    def redeem_code(self, code_digest: str, now: float, decide: CodeDecision[T]) -> T:
        try:
            with self.hot.write() as tx:
                key = {"digest": code_digest, "now": now}
                row = tx.one(q.CONSUME_CODE, key)
                replayed = False
                if row is None:  # unknown, or consumed before: a replay
                    row = tx.one(q.GET_CODE, key)
                    replayed = row is not None
                issuance = decide(code_from_row(row) if row else None, replayed)
                insert_rows(tx, issuance)
                return issuance
        except Refused as refused:
            self.apply(refused.revocation, now)
            raise

    def rotate_refresh(self, token_digest: str, now: float, decide: RefreshDecision[T]) -> T:
        try:
            with self.hot.write() as tx:
                key = {"digest": token_digest, "now": now}
                row = tx.one(q.USE_REFRESH, key)
                reused = False
                if row is None:  # unknown, or rotated before: a reuse
                    row = tx.one(q.GET_REFRESH, key)
                    reused = row is not None and row.used_at is not None
                token = refresh_from_row(row) if row else None
                grant = None
                if token is not None:
                    found = tx.one(q.GET_GRANT, {"grant_id": token.grant_id})
                    grant = grant_from_row(found) if found else None
                issuance = decide(token, grant, reused)
                insert_rows(tx, issuance)
                return issuance
        except Refused as refused:
            self.apply(refused.revocation, now)
            raise

    def apply(self, revocation: Revocation, now: float) -> None:
        """A decision's revocation, whatever its reason: the grant and every token from it."""
        self.revoke_grant(revocation.grant_id, now, revocation.reason)

    def revoke_grant(self, grant_id: str, now: float, reason: str) -> bool:
        if not storable(grant_id):
            return False
        with self.hot.write() as tx:
            key = {"grant": grant_id, "now": now}
            n = tx.run(q.REVOKE_GRANT, {**key, "reason": reason})
            tx.run(q.REVOKE_GRANT_REFRESH, key)
            tx.run(q.REVOKE_GRANT_ACCESS, key)
        return bool(n)

    def revoke_access_token(self, jti: str, now: float) -> bool:
        if not storable(jti):
            return False
        with self.hot.write() as tx:
            return bool(tx.run(q.REVOKE_ACCESS, {"token": jti, "now": now}))

    def get_grant(self, grant_id: str) -> Grant | None:
        row = self.hot.one(q.GET_GRANT, {"grant_id": grant_id})
        return grant_from_row(row) if row else None

    def get_refresh_token(self, token_digest: str) -> RefreshToken | None:
        row = self.hot.one(q.GET_REFRESH, {"digest": token_digest})
        return refresh_from_row(row) if row else None

    def get_access_token(self, jti: str) -> AccessTokenRecord | None:
        row = self.hot.one(q.GET_ACCESS, {"jti": jti})
        return access_from_row(row) if row else None

    def list_grants(
        self, *, client_id: str | None = None, sub: str | None = None, active_only: bool = True
    ) -> list[Grant]:
        if not all(storable(k) for k in (client_id, sub) if k is not None):
            return []
        query = sa.select(t.grants).order_by(t.grants.c.created_at)
        if client_id is not None:
            query = query.where(t.grants.c.client_id == client_id)
        if sub is not None:
            query = query.where(t.grants.c.sub == sub)
        if active_only:
            query = query.where(t.grants.c.revoked_at.is_(None))
        with self.db.connect() as conn:
            return [grant_from_row(r) for r in conn.execute(query)]
