"""Choose the Store from Settings: MongoDB when a URI is set, else the embedded SQLite file."""

from __future__ import annotations

from mozaiks_runtime.config import Settings
from mozaiks_runtime.storage.base import Store


def build_store(settings: Settings) -> Store:
    """An unopened store; the lifespan calls `start()` (which creates tables or indexes)."""
    if settings.mongo_uri is not None:
        from mozaiks_runtime.storage.mongo import MongoStore

        return MongoStore(settings.mongo_uri.get_secret_value(), settings.database_name)
    from mozaiks_runtime.storage.sqlite import SqliteStore

    return SqliteStore(settings.sqlite_path)
