"""Proof that the FerretDB fixture is a real MongoDB-wire server (FerretDB 1.x on SQLite)."""

from __future__ import annotations

import pymongo
import pytest
from pymongo import AsyncMongoClient
from pymongo.errors import DuplicateKeyError, OperationFailure
from tests.harness.mongo import FerretDBAuth

pytestmark = pytest.mark.integration


async def test_insert_find_update(ferretdb: str, mongo_database: str) -> None:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(ferretdb)
    try:
        chats = client[mongo_database]["chats"]
        result = await chats.insert_one({"_id": "c1", "app": "a", "turns": 0, "tags": ["x"]})
        assert result.inserted_id == "c1"
        await chats.insert_many([{"_id": f"c{i}", "app": "b", "turns": i} for i in range(2, 5)])

        assert await chats.find_one({"_id": "c1"}) == {
            "_id": "c1",
            "app": "a",
            "turns": 0,
            "tags": ["x"],
        }
        found = [d["_id"] async for d in chats.find({"app": "b", "turns": {"$gte": 3}}).sort("_id")]
        assert found == ["c3", "c4"]

        upd = await chats.update_one(
            {"_id": "c1", "turns": 0}, {"$inc": {"turns": 1}, "$push": {"tags": "y"}}
        )
        assert (upd.matched_count, upd.modified_count) == (1, 1)
        # the same compare-and-set again matches nothing: the guard held
        again = await chats.update_one({"_id": "c1", "turns": 0}, {"$inc": {"turns": 1}})
        assert again.matched_count == 0
        doc = await chats.find_one({"_id": "c1"})
        assert doc is not None and doc["turns"] == 1 and doc["tags"] == ["x", "y"]
        assert await chats.count_documents({}) == 4
    finally:
        await client.close()


async def test_unique_index_rejects_duplicate(ferretdb: str, mongo_database: str) -> None:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(ferretdb)
    try:
        users = client[mongo_database]["users"]
        await users.create_index([("app", 1), ("email", 1)], unique=True, name="app_email")
        await users.insert_one({"app": "a", "email": "x@example.org"})
        await users.insert_one({"app": "b", "email": "x@example.org"})  # other app: fine
        with pytest.raises(DuplicateKeyError):
            await users.insert_one({"app": "a", "email": "x@example.org"})
        assert await users.count_documents({}) == 2
        names = [ix["name"] async for ix in await users.list_indexes()]
        assert "app_email" in names
    finally:
        await client.close()


def test_mongo_database_is_fresh(ferretdb: str, mongo_database: str) -> None:
    with pymongo.MongoClient(ferretdb) as client:
        assert client[mongo_database].list_collection_names() == []


async def test_auth_mode_create_and_drop_user(ferretdb_auth: FerretDBAuth) -> None:
    """FerretDB's experimental auth: the admin creates and drops a user (roles must be [])."""
    admin: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(ferretdb_auth.admin_uri)
    anonymous: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
        f"mongodb://{ferretdb_auth.host}:{ferretdb_auth.port}/"
    )
    try:
        with pytest.raises(OperationFailure) as denied:
            await anonymous["proof"]["x"].insert_one({"a": 1})
        assert denied.value.code == 13  # Unauthorized: every command needs a login

        await admin["app_proof"].command("createUser", "app1", pwd="s3cret", roles=[])
        info = await admin["app_proof"].command("usersInfo", "app1")
        assert [u["user"] for u in info["users"]] == ["app1"]

        user: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
            ferretdb_auth.uri_for("app1", "s3cret", "app_proof")
        )
        try:
            await user["app_proof"]["x"].insert_one({"a": 1})
            assert await user["app_proof"]["x"].count_documents({}) == 1
        finally:
            await user.close()

        await admin["app_proof"].command("dropUser", "app1")
        dropped: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
            ferretdb_auth.uri_for("app1", "s3cret", "app_proof")
        )
        try:
            with pytest.raises(OperationFailure) as failed:
                await dropped["app_proof"]["x"].find_one()
            assert failed.value.code == 18  # AuthenticationFailed
        finally:
            await dropped.close()
        await admin.drop_database("app_proof")
    finally:
        await admin.close()
        await anonymous.close()
