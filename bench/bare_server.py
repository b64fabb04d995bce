"""The floor: a bare uvicorn WebSocket server that pushes frames shaped like ours, with no
auth, no persistence and no engine. `bench.ws_throughput` runs it beside the real runtime."""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import UTC, datetime

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect


def _now() -> str:
    """The runtime's timestamp format (UTC, milliseconds, `Z`), so both sides pay the same."""
    moment = datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _frame(kind: str, seq: int | None, chat_id: str, data: dict[str, object]) -> str:
    return json.dumps(
        {
            "type": kind,
            "seq": seq,
            "chat_id": chat_id,
            "timestamp": _now(),
            "data": data,
        }
    )


async def stream(websocket: WebSocket) -> None:
    """Push `n` small chat.text frames (one every `interval` seconds if given), then
    chat.run_complete, then wait for the close."""
    chat_id = websocket.path_params["chat_id"]
    count = int(websocket.query_params.get("n", "100"))
    interval = float(websocket.query_params.get("interval", "0"))
    await websocket.accept()
    await websocket.send_text(_frame("chat_meta", None, chat_id, {"chat_id": chat_id}))
    for seq in range(1, count + 1):
        if interval:
            await asyncio.sleep(interval)
        data = {"agent": "Bench", "content": f"event {seq}", "role": "assistant"}
        await websocket.send_text(_frame("chat.text", seq, chat_id, data))
    await websocket.send_text(_frame("chat.run_complete", count + 1, chat_id, {"status": "ok"}))
    try:
        while True:
            await websocket.receive_text()
    except WebSocketDisconnect:
        return


async def health(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


async def idle(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(_frame("chat_meta", None, "idle", {}))
    try:
        while True:
            await websocket.receive_text()
    except WebSocketDisconnect:
        return


app = Starlette(
    routes=[
        WebSocketRoute("/stream/{chat_id}", stream),
        WebSocketRoute("/idle", idle),
        Route("/health", health),
    ]
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    # The runtime's WebSocket options (serving.server_options): no protocol pings, no compression.
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        ws_ping_interval=None,
        ws_per_message_deflate=False,
    )


if __name__ == "__main__":
    main()
