"""The embedded Store: one SQLite file on one writer thread (store.py is the adapter)."""

from mozaiks_runtime.storage.sqlite.store import SqliteStore

__all__ = ["SqliteStore"]
