"""Login sessions and consent, and the hot reads of clients and users: written once for every
backend, run by the store's ``hot`` database."""

from __future__ import annotations

from valetkey.core.consent import merge_consent
from valetkey.core.models import Client, LoginSession, User
from valetkey.store import statements as q
from valetkey.store.rows import client_from_row, join, split, user_from_row
from valetkey.store.text import check_storable, storable
from valetkey.store.tx import Database


class SessionTables:
    hot: Database

    def get_client(self, client_id: str) -> Client | None:
        row = self.hot.one(q.GET_CLIENT, {"client_id": client_id})
        return client_from_row(row) if row else None

    def get_user(self, sub: str) -> User | None:
        row = self.hot.one(q.GET_USER, {"sub": sub})
        return user_from_row(row) if row else None

    def get_user_by_username(self, username: str) -> User | None:
        row = self.hot.one(q.GET_USER_BY_NAME, {"username": username})
        return user_from_row(row) if row else None

    def create_session(self, session_digest: str, session: LoginSession) -> None:
        with self.hot.write() as tx:
            tx.run(
                q.INSERT_SESSION,
                {
                    "session_digest": session_digest,
                    "sub": session.sub,
                    "auth_time": session.auth_time,
                    "expires_at": session.expires_at,
                },
            )

    def get_session(self, session_digest: str) -> LoginSession | None:
        row = self.hot.one(q.GET_SESSION, {"digest": session_digest})
        return LoginSession(session_digest, row.sub, row.auth_time, row.expires_at) if row else None

    def end_session(self, session_digest: str) -> None:
        if not storable(session_digest):
            return
        with self.hot.write() as tx:
            tx.run(q.DELETE_SESSION, {"digest": session_digest})

    def get_session_and_consent(
        self, session_digest: str, client_id: str
    ) -> tuple[LoginSession | None, tuple[str, ...]]:
        row = self.hot.one(
            q.GET_SESSION_AND_CONSENT, {"digest": session_digest, "client_id": client_id}
        )
        if row is None:
            return None, ()
        session = LoginSession(session_digest, row.sub, row.auth_time, row.expires_at)
        return session, split(row.scope) if row.scope else ()

    def get_consent(self, sub: str, client_id: str) -> tuple[str, ...]:
        row = self.hot.one(q.GET_CONSENT, {"sub": sub, "client_id": client_id})
        return split(row.scope) if row else ()

    def save_consent(self, sub: str, client_id: str, scope: tuple[str, ...], now: float) -> None:
        """Add ``scope`` to what the user approved for the client (``merge_consent``)."""
        key = {"sub": sub, "client_id": client_id}
        with self.hot.write() as tx:
            row = tx.one(q.GET_CONSENT_FOR_UPDATE, key)
            if row is None:
                new = {**key, "scope": join(merge_consent((), scope)), "updated_at": now}
                check_storable(new)
                if tx.one(q.INSERT_CONSENT_IF_NEW, new) is not None:
                    return
                row = tx.one(q.GET_CONSENT_FOR_UPDATE, key)  # inserted meanwhile elsewhere
            merged = join(merge_consent(split(row.scope), scope))
            tx.run(
                q.UPDATE_CONSENT, {"user": sub, "client": client_id, "approved": merged, "now": now}
            )
