"""Which database errors are outages: the store raises ``StorageUnavailable`` for these only.

An outage is the database being unreachable, gone, shut down, out of resources or locked past the
wait: the same request may succeed later. A constraint violation, bad data or a programming error
is not one, and stays the error it is (a defect to fix, never a 503 that hides it).
"""

from __future__ import annotations

import sqlite3

import sqlalchemy as sa

from valetkey.core.errors import StorageUnavailable

# SQLite primary result codes: BUSY, LOCKED (after the busy wait), IOERR, FULL, CANTOPEN.
SQLITE_OUTAGES = {5: "busy", 6: "locked", 10: "I/O error", 13: "disk full", 14: "cannot open"}
# SQLSTATE classes: connection exception, insufficient resources, operator intervention (admin
# shutdown, cannot connect now, query canceled), system error.
POSTGRES_OUTAGE_CLASSES = ("08", "53", "57", "58")


def _describe(exc: BaseException) -> str:
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first}"[:300]


def sqlite_outage(exc: BaseException) -> StorageUnavailable | None:
    if not isinstance(exc, sqlite3.OperationalError):
        return None
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None or code & 0xFF not in SQLITE_OUTAGES:
        return None
    return StorageUnavailable(f"SQLite {SQLITE_OUTAGES[code & 0xFF]}: {_describe(exc)}")


def _postgres_outage(orig: BaseException) -> bool:
    if not type(orig).__module__.startswith("psycopg"):
        return False
    import psycopg  # loaded already: the error came from it

    if not isinstance(orig, psycopg.OperationalError):
        return False
    sqlstate = orig.sqlstate  # None: the client side lost or never had the connection
    return sqlstate is None or sqlstate[:2] in POSTGRES_OUTAGE_CLASSES


def postgres_outage(exc: BaseException) -> StorageUnavailable | None:
    """For an error of the psycopg driver used directly (``pg_fast``)."""
    return StorageUnavailable(_describe(exc)) if _postgres_outage(exc) else None


def outage(exc: BaseException) -> StorageUnavailable | None:
    """The StorageUnavailable to raise for ``exc``, or None when ``exc`` is not an outage."""
    if isinstance(exc, sa.exc.TimeoutError):  # no pooled connection came free in time
        return StorageUnavailable(f"connection pool: {_describe(exc)}")
    if isinstance(exc, sa.exc.DBAPIError):
        orig = exc.orig if exc.orig is not None else exc
        if exc.connection_invalidated or _postgres_outage(orig):
            return StorageUnavailable(_describe(orig))
        return sqlite_outage(orig)
    return sqlite_outage(exc)
