"""The floor of the ack-path benchmark: a bare Python WebSocket server that only parses a ticket and answers an ack.

No validation, no storage, no rendering, per-message compression off: whatever the daemon costs above this is the
price of what it does before its ``ack`` (validate, render, make the job durable). Run as its own process, like
the daemon, so both are measured the same way: ``python -m benchmarks.floor_server`` prints the line
``floor listening on 127.0.0.1:PORT`` once it accepts connections, and serves until SIGTERM.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys

from websockets.asyncio.server import ServerConnection, serve

LISTENING = "floor listening on "
GREETING = json.dumps({"tipo": "info", "status": "connected", "mensaje": "floor"})


async def _handle(websocket: ServerConnection) -> None:
    await websocket.send(GREETING)
    async for frame in websocket:
        message = json.loads(frame)
        ack = {
            "tipo": "ack",
            "id": message.get("id"),
            "status": "queued",
            "current": 0,
            "capacity": 100,
            "mensaje": "Job queued for printing",
        }
        await websocket.send(json.dumps(ack))


async def main() -> None:
    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    async with serve(_handle, "127.0.0.1", 0, compression=None, max_size=8 * 1024 * 1024) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        print(f"{LISTENING}127.0.0.1:{port}", flush=True)
        await stop


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
