"""The MongoDB Store, limited to what FerretDB 1.x supports (store.py is the adapter)."""

from mozaiks_runtime.storage.mongo.store import MongoStore

__all__ = ["MongoStore"]
