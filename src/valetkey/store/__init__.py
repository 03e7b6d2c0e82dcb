"""Persistence behind a small Protocol, with one SQL implementation (SQLite default, PostgreSQL)."""

from valetkey.store.protocol import Store
from valetkey.store.sql import SQLStore, open_store

__all__ = ["SQLStore", "Store", "open_store"]
