"""The reference for the daemon's start-up and memory: a bare Starlette app on uvicorn with the same server options.

It has what any such service has and nothing of ours: ``GET /health`` and a ``/ws`` endpoint that parses a ticket
and answers an ack. ``python -m benchmarks.bare_app`` prints ``ticket-daemon ready: dashboard http://127.0.0.1:PORT/``
(the daemon's own ready line, so :class:`~benchmarks.lifecycle.DaemonProcess` starts both the same way) once it
accepts connections, and serves until SIGTERM.
"""

from __future__ import annotations

import asyncio
import json
import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def tickets(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(json.dumps({"tipo": "info", "status": "connected", "mensaje": "bare"}))
    try:
        while True:
            message = json.loads(await websocket.receive_text())
            ack = {"tipo": "ack", "id": message.get("id"), "status": "queued", "mensaje": "Job queued for printing"}
            await websocket.send_text(json.dumps(ack))
    except WebSocketDisconnect:
        pass


async def main() -> None:
    app = Starlette(routes=[Route("/health", health), WebSocketRoute("/ws", tickets)])
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, ws="websockets-sansio", ws_per_message_deflate=False, log_level="warning"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            return
        await asyncio.sleep(0.005)
    port = server.servers[0].sockets[0].getsockname()[1]
    print(f"ticket-daemon ready: dashboard http://127.0.0.1:{port}/", flush=True)
    await task


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
