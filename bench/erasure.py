"""How fast a user's data is exported and erased, through the real runtime.

    .venv/bin/python -m bench.erasure [--store sqlite|mongo] [--chats 1000] [--events 100]

The store is filled directly (one user with `--chats` chats of `--events` events and one usage
row each, plus a second user with a tenth of that, who must be left intact), then the runtime
(`bench.runtime_server`, in its own process) serves GET /api/users/{user}/export and
DELETE /api/users/{user}. Figures: seconds and events/s for each; the receipt's hash is checked
against the export's and the second user's rows are counted before and after. `--store mongo`
starts FerretDB (`hack/ferretdb`).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.ws_throughput import ROOT, free_port, serve
from mozaiks_runtime.storage.base import (
    ChatRecord,
    NewEvent,
    Store,
    StoredEvent,
    UsageRecord,
    utcnow,
)

APP = "bench"
USER, OTHER = "u-erased", "u-kept"
FILL_BATCH = 5000  # documents per insert when filling FerretDB


def open_store(args: argparse.Namespace, workdir: Path) -> Store:
    if args.mongo_uri:
        from mozaiks_runtime.storage.mongo import MongoStore

        return MongoStore(args.mongo_uri, workdir.name)
    from mozaiks_runtime.storage.sqlite import SqliteStore

    return SqliteStore(workdir / "bench.sqlite3")


def rows_of(
    user: str, chats: int, events: int
) -> Iterator[tuple[ChatRecord, list[StoredEvent], UsageRecord]]:
    now = utcnow()
    for n in range(chats):
        chat_id = f"{user}-{n:05d}"
        moment = now + timedelta(milliseconds=n)
        chat = ChatRecord(APP, chat_id, user, "burst", "v1", "idle", moment, moment, events)
        stored = [
            StoredEvent(
                APP, chat_id, i, "chat.text", {"agent": "Bench", "content": f"event {i}"}, moment
            )
            for i in range(1, events + 1)
        ]
        usage = UsageRecord(APP, chat_id, user, "burst", "Bench", "m", 10, 5, 0.1, 0.0, moment)
        yield chat, stored, usage


async def fill(
    store: Store, args: argparse.Namespace, workdir: Path, user: str, chats: int
) -> None:
    """Through the store on SQLite; as documents straight into FerretDB, whose first append to
    a chat reads the log's end with a sort it runs as a scan (slow to fill, not what we time)."""
    if not args.mongo_uri:
        for chat, stored, usage in rows_of(user, chats, args.events):
            await store.create_chat(chat)
            await store.append_events(
                APP, chat.chat_id, [NewEvent(e.type, e.data, e.timestamp) for e in stored]
            )
            await store.record_usage(usage)
        return
    from pymongo import AsyncMongoClient

    from mozaiks_runtime.storage.mongo.docs import chat_doc, event_doc, usage_doc

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(args.mongo_uri, tz_aware=True)
    db = client[workdir.name]

    async def insert(rows: list[tuple[ChatRecord, list[StoredEvent], UsageRecord]]) -> None:
        await db.chats.insert_many([chat_doc(c) for c, _, _ in rows])
        await db.events.insert_many([event_doc(e) for _, es, _ in rows for e in es])
        await db.usage.insert_many([usage_doc(u) for _, _, u in rows])

    try:
        batch: list[tuple[ChatRecord, list[StoredEvent], UsageRecord]] = []
        for row in rows_of(user, chats, args.events):
            batch.append(row)
            if len(batch) * args.events >= FILL_BATCH:
                await insert(batch)
                batch = []
        if batch:
            await insert(batch)
    finally:
        await client.close()


async def count(store: Store, user: str) -> tuple[int, int]:
    """(chats, events) of the user, read through the store a page at a time."""
    chats = events = 0
    cursor = None
    while True:
        page = await store.list_chats(APP, user_id=user, limit=200, cursor=cursor)
        chats += len(page.chats)
        async for _ in store.events_of_chats(APP, [c.chat_id for c in page.chats]):
            events += 1
        if page.next_cursor is None:
            return chats, events
        cursor = page.next_cursor


async def with_store(args: argparse.Namespace, workdir: Path, step: str) -> tuple[int, int]:
    store = open_store(args, workdir)
    await store.start()
    try:
        if step == "fill":
            await fill(store, args, workdir, USER, args.chats)
            await fill(store, args, workdir, OTHER, max(1, args.chats // 10))
        return await count(store, OTHER)
    finally:
        await store.close()


def measure(args: argparse.Namespace, workdir: Path, secret: str) -> list[str]:
    from mozaiks_runtime.auth.mint import mint_token

    t0 = time.perf_counter()
    kept_before = asyncio.run(with_store(args, workdir, "fill"))
    filled = time.perf_counter() - t0
    total = args.chats * args.events
    env = {
        "MOZAIKS_APP_ID": APP,
        "MOZAIKS_JWT_SECRET": secret,
        "MOZAIKS_WORKFLOWS_DIR": str(ROOT / "bench" / "workflows"),
        "MOZAIKS_SQLITE_PATH": str(workdir / "bench.sqlite3"),
        "MOZAIKS_LOG_LEVEL": "WARNING",
    }
    if args.mongo_uri:
        env |= {"MOZAIKS_MONGO_URI": args.mongo_uri, "MOZAIKS_MONGO_DATABASE": workdir.name}
    token = mint_token(secret, user=USER, app=APP, ttl=timedelta(hours=1))
    headers = {"Authorization": f"Bearer {token}"}
    port = free_port()
    argv = [sys.executable, "-m", "bench.runtime_server", "--port", str(port)]
    with serve(argv, port, env, "/api/ready"), httpx.Client(timeout=600) as client:
        base = f"http://127.0.0.1:{port}/api/users/{USER}"
        t0 = time.perf_counter()
        export = client.get(f"{base}/export", headers=headers)
        exported = time.perf_counter() - t0
        export.raise_for_status()
        t0 = time.perf_counter()
        erased = client.delete(base, headers=headers)
        erasing = time.perf_counter() - t0
        erased.raise_for_status()
    receipt = erased.json()
    if receipt["sha256"] != hashlib.sha256(export.content).hexdigest():
        raise SystemExit("the receipt's hash is not the export's")
    counts = receipt["counts"]
    if (counts["chats"], counts["events"]) != (args.chats, total):
        raise SystemExit(f"erased {counts}, expected {args.chats} chats, {total} events")
    kept_after = asyncio.run(with_store(args, workdir, "count"))
    if kept_after != kept_before:
        raise SystemExit(f"the other user's rows changed: {kept_before} -> {kept_after}")
    megabytes = len(export.content) / 1e6
    return [
        f"User erasure ({args.store}): {args.chats} chats x {args.events} events"
        f" ({total} events, {args.chats} usage rows; filled in {filled:.1f} s):",
        f"  export  {exported:6.2f} s  {total / exported:8.0f} events/s"
        f"  ({megabytes:.1f} MB of JSON Lines)",
        f"  erase   {erasing:6.2f} s  {total / erasing:8.0f} events/s"
        f"  (receipt hash = export hash; other user's {kept_after[0]} chats /"
        f" {kept_after[1]} events intact)",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", choices=["sqlite", "mongo"], default="sqlite")
    parser.add_argument("--chats", type=int, default=1000)
    parser.add_argument("--events", type=int, default=100)
    args = parser.parse_args()
    args.mongo_uri = None
    workdir = Path(tempfile.mkdtemp(prefix="mozaiks-erasure-"))
    ferret = None
    if args.store == "mongo":
        from tests.harness.services import Service

        ferret = Service("ferretdb", workdir / "ferretdb", "MOZAIKS_FERRETDB_DIR")
        args.mongo_uri = ferret.up()["MOZAIKS_MONGO_URI"]
    try:
        lines = measure(args, workdir, os.urandom(32).hex())
    finally:
        if ferret is not None and ferret.started_here:
            ferret.down()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
