"""A tenant's MongoDB database and user, through the operator's admin connection.

The only module of the operator that talks to MongoDB. The user is defined in the tenant's own
database with `readWrite` on that database only (real MongoDB enforces it; FerretDB 1.x stores
the role but does not enforce roles). Everything here is idempotent.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from pymongo import AsyncMongoClient
from pymongo.errors import OperationFailure, PyMongoError

from mozaiks_operator import constants as c
from mozaiks_operator.errors import Blocked
from mozaiks_operator.specs.credentials import DatabaseCredentials

# The marker collection: MongoDB creates a database on its first write, so we write one.
MARKER_COLLECTION = "_mozaiks"
USER_NOT_FOUND = 11
NOT_IMPLEMENTED = 238


def runtime_uri(base_uri: str, *, database: str, username: str, password: str) -> str:
    """`base_uri`'s hosts and options, with the tenant's credentials and database."""
    parts = urlsplit(base_uri)
    hosts = parts.netloc.rsplit("@", 1)[-1]
    options = [(k, v) for k, v in parse_qsl(parts.query) if k.lower() != "authsource"]
    options.append(("authSource", database))
    userinfo = f"{quote(username, safe='')}:{quote(password, safe='')}"
    return f"{parts.scheme}://{userinfo}@{hosts}/{database}?{urlencode(options)}"


def database_port(uri: str) -> int:
    """The port of the first host (MongoDB's default when none is given)."""
    host = urlsplit(uri).netloc.rsplit("@", 1)[-1].split(",")[0]
    if host.startswith("[") and "]:" in host:  # [ipv6]:port
        return int(host.rsplit(":", 1)[1])
    if host.count(":") == 1:
        return int(host.split(":", 1)[1])
    return 27017


class DatabaseAdmin:
    """Creates and drops tenants' databases and users. One per operator process."""

    def __init__(self, admin_uri: str, *, runtime_base_uri: str | None, timeout: float) -> None:
        self._client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            admin_uri,
            serverSelectionTimeoutMS=int(timeout * 1000),
            connectTimeoutMS=int(timeout * 1000),
            appname=c.MANAGED_BY,
        )
        self._runtime_base = runtime_base_uri or admin_uri

    @property
    def port(self) -> int:
        return database_port(self._runtime_base)

    async def close(self) -> None:
        await self._client.close()

    async def ensure(
        self, *, database: str, username: str, password: str, known: bool = False
    ) -> DatabaseCredentials:
        """Make sure the database and its user exist, with this password and its role.

        `known`: the password is the one stored earlier; then an existing user is left as it is
        (setting a password costs the server a SCRAM key derivation on every pass).
        Raises Blocked(DatabaseUnreachable) when the server cannot be reached or refuses.
        """
        db = self._client[database]
        roles = [{"role": "readWrite", "db": database}]
        try:
            await db[MARKER_COLLECTION].update_one(
                {"_id": "tenant"}, {"$set": {"managedBy": c.MANAGED_BY}}, upsert=True
            )
            exists = bool((await db.command("usersInfo", username)).get("users"))
            if not exists:
                await _user_command(db, "createUser", username, password, roles)
            elif not known:
                # Kept by a Retain deletion, or its Secret was lost: converge on a new password.
                await _user_command(db, "updateUser", username, password, roles)
        except PyMongoError as exc:
            raise Blocked(
                c.REASON_DATABASE_UNREACHABLE,
                f"cannot create database {database!r} and its user: {_short(exc)}",
                delay=15,
            ) from exc
        uri = runtime_uri(
            self._runtime_base, database=database, username=username, password=password
        )
        return DatabaseCredentials(database=database, username=username, password=password, uri=uri)

    async def drop(self, *, database: str, username: str) -> None:
        """Drop the user and the database (deletionPolicy Delete). Missing ones are fine."""
        db = self._client[database]
        try:
            try:
                await db.command("dropUser", username)
            except OperationFailure as exc:
                if exc.code != USER_NOT_FOUND and "not found" not in str(exc):
                    raise
            await self._client.drop_database(database)
        except PyMongoError as exc:
            raise Blocked(
                c.REASON_DATABASE_UNREACHABLE,
                f"cannot drop database {database!r}: {_short(exc)}",
                delay=15,
            ) from exc


async def _user_command(
    db: Any, command: str, username: str, password: str, roles: list[dict[str, str]]
) -> None:
    """createUser/updateUser with the role; FerretDB 1.x (roles not implemented) gets none.

    FerretDB answers NotImplemented to any non-empty `roles` and enforces no roles anyway; real
    MongoDB takes the role and limits the user to the tenant's database.
    """
    try:
        await db.command(command, username, pwd=password, roles=roles)
    except OperationFailure as exc:
        if exc.code != NOT_IMPLEMENTED or "roles" not in str(exc):
            raise
        await db.command(command, username, pwd=password, roles=[])


def _short(exc: Exception) -> str:
    """The first line of a driver error: topology dumps are long and name every host."""
    return str(exc).split(",", 1)[0].split("\n", 1)[0][:300]
