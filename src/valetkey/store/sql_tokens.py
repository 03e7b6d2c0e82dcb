"""Codes, grants and tokens in SQL: the atomic steps (consume a code, rotate a refresh token,
revoke a grant) are conditional updates inside one transaction."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from valetkey.core.checks import Rejected
from valetkey.core.models import (
    AccessTokenRecord,
    Grant,
    Issuance,
    NewCode,
    NewRows,
    RefreshToken,
)
from valetkey.store import schema as t
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

# Built once: executing a prebuilt INSERT with a parameter dict skips rebuilding the statement
# and its cache key on every request.
_INSERT_ACCESS_TOKENS = sa.insert(t.access_tokens)
_INSERT_AUTHORIZATION_CODES = sa.insert(t.authorization_codes)
_INSERT_GRANTS = sa.insert(t.grants)
_INSERT_REFRESH_TOKENS = sa.insert(t.refresh_tokens)
_GET_GRANT = sa.select(t.grants).where(t.grants.c.grant_id == sa.bindparam("grant_id"))
_GET_ACCESS = sa.select(t.access_tokens).where(t.access_tokens.c.jti == sa.bindparam("jti"))
_GET_REFRESH = sa.select(t.refresh_tokens).where(
    t.refresh_tokens.c.token_digest == sa.bindparam("digest")
)
_GET_CODE = sa.select(t.authorization_codes).where(
    t.authorization_codes.c.code_digest == sa.bindparam("digest")
)
# RFC 6749 §4.1.2 / RFC 9700 §4.14.2: one conditional UPDATE consumes a code or a refresh token.
_CONSUME_CODE = (
    sa.update(t.authorization_codes)
    .where(
        t.authorization_codes.c.code_digest == sa.bindparam("digest"),
        t.authorization_codes.c.consumed_at.is_(None),
    )
    .values(consumed_at=sa.bindparam("now"))
    .returning(*t.authorization_codes.c)
)
_USE_REFRESH = (
    sa.update(t.refresh_tokens)
    .where(
        t.refresh_tokens.c.token_digest == sa.bindparam("digest"),
        t.refresh_tokens.c.used_at.is_(None),
    )
    .values(used_at=sa.bindparam("now"))
    .returning(*t.refresh_tokens.c)
)


class TokenTables:
    """Mixed into SQLStore, which provides ``_write`` and ``_read`` transactions."""

    _write: Callable[[], AbstractContextManager[Connection]]
    _read: Callable[[], AbstractContextManager[Connection]]

    # -- codes, grants, tokens ----------------------------------------------------------------------
    def _insert_grant(self, conn: Connection, grant: Grant) -> None:
        conn.execute(_INSERT_GRANTS, grant_values(grant))

    def _insert_issuance(self, conn: Connection, issuance: Issuance) -> None:
        if issuance.grant is not None:
            self._insert_grant(conn, issuance.grant)
        a = issuance.access
        if a is not None:
            conn.execute(_INSERT_ACCESS_TOKENS, access_values(a))
        r = issuance.refresh
        if r is not None:
            conn.execute(_INSERT_REFRESH_TOKENS, refresh_values(r))

    def save_all(self, rows: Sequence[NewRows]) -> None:
        with self._write() as conn:
            for row in rows:
                if isinstance(row, NewCode):
                    self._insert_grant(conn, row.grant)
                    conn.execute(_INSERT_AUTHORIZATION_CODES, code_values(row.code))
                else:
                    self._insert_issuance(conn, row)

    def redeem_code(self, code_digest: str, now: float, decide: CodeDecision[T]) -> T:
        revoke: tuple[str, str] | None = None
        try:
            with self._write() as conn:
                row = conn.execute(_CONSUME_CODE, {"digest": code_digest, "now": now}).first()
                replayed = False
                if row is None:
                    row = conn.execute(_GET_CODE, {"digest": code_digest}).first()
                    replayed = row is not None
                code = code_from_row(row) if row else None
                try:
                    issuance = decide(code, replayed)
                except Rejected:
                    if replayed and code is not None:
                        # RFC 9700 §4.2.4: a replayed code revokes every token issued from it.
                        revoke = (code.grant_id, "authorization code replayed")
                    raise
                self._insert_issuance(conn, issuance)
                return issuance
        finally:
            if revoke is not None:
                self.revoke_grant(revoke[0], now, revoke[1])

    def rotate_refresh(self, token_digest: str, now: float, decide: RefreshDecision[T]) -> T:
        revoke: tuple[str, str] | None = None
        try:
            with self._write() as conn:
                row = conn.execute(_USE_REFRESH, {"digest": token_digest, "now": now}).first()
                reused = False
                if row is None:
                    row = conn.execute(_GET_REFRESH, {"digest": token_digest}).first()
                    reused = row is not None and row.used_at is not None
                token = refresh_from_row(row) if row else None
                grant = None
                if token is not None:
                    grow = conn.execute(_GET_GRANT, {"grant_id": token.grant_id}).first()
                    grant = grant_from_row(grow) if grow else None
                try:
                    issuance = decide(token, grant, reused)
                except Rejected:
                    if reused and token is not None:
                        # RFC 9700 §4.14.2: reuse of a rotated refresh token revokes the grant.
                        revoke = (token.grant_id, "refresh token reused")
                    raise
                self._insert_issuance(conn, issuance)
                return issuance
        finally:
            if revoke is not None:
                self.revoke_grant(revoke[0], now, revoke[1])

    def get_grant(self, grant_id: str) -> Grant | None:
        with self._read() as conn:
            row = conn.execute(_GET_GRANT, {"grant_id": grant_id}).first()
        return grant_from_row(row) if row else None

    def list_grants(
        self, *, client_id: str | None = None, sub: str | None = None, active_only: bool = True
    ) -> list[Grant]:
        q = sa.select(t.grants).order_by(t.grants.c.created_at)
        if client_id is not None:
            q = q.where(t.grants.c.client_id == client_id)
        if sub is not None:
            q = q.where(t.grants.c.sub == sub)
        if active_only:
            q = q.where(t.grants.c.revoked_at.is_(None))
        with self._read() as conn:
            return [grant_from_row(r) for r in conn.execute(q)]

    def revoke_grant(self, grant_id: str, now: float, reason: str) -> bool:
        with self._write() as conn:
            n = conn.execute(
                sa.update(t.grants)
                .where(t.grants.c.grant_id == grant_id, t.grants.c.revoked_at.is_(None))
                .values(revoked_at=now, revoked_reason=reason)
            ).rowcount
            conn.execute(
                sa.update(t.refresh_tokens)
                .where(
                    t.refresh_tokens.c.grant_id == grant_id, t.refresh_tokens.c.revoked_at.is_(None)
                )
                .values(revoked_at=now)
            )
            conn.execute(
                sa.update(t.access_tokens)
                .where(
                    t.access_tokens.c.grant_id == grant_id, t.access_tokens.c.revoked_at.is_(None)
                )
                .values(revoked_at=now)
            )
        return bool(n)

    def get_refresh_token(self, token_digest: str) -> RefreshToken | None:
        with self._read() as conn:
            row = conn.execute(_GET_REFRESH, {"digest": token_digest}).first()
        return refresh_from_row(row) if row else None

    def get_access_token(self, jti: str) -> AccessTokenRecord | None:
        with self._read() as conn:
            row = conn.execute(_GET_ACCESS, {"jti": jti}).first()
        return access_from_row(row) if row else None

    def revoke_access_token(self, jti: str, now: float) -> bool:
        with self._write() as conn:
            return bool(
                conn.execute(
                    sa.update(t.access_tokens)
                    .where(t.access_tokens.c.jti == jti, t.access_tokens.c.revoked_at.is_(None))
                    .values(revoked_at=now)
                ).rowcount
            )
