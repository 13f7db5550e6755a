"""The durable floor of the ack-path benchmark: the least a Python print service can do for a durable ack and a result.

The bare floor (``floor_server.py``) parses a ticket and answers. This one also keeps the promise an ``ack`` makes:
the ticket's row is committed to SQLite (WAL, ``synchronous=FULL``: fsync'ed) before its ``ack`` goes out, in group
commits by one writer thread (every row waiting when it gets to them, one transaction, one fsync); then the job is
marked printed in a later commit and its ``result`` is sent. Nothing else: no validation, no rendering, no printer,
no logging. So ``durable floor ÷ floor`` is what durability and a result cost on this machine before any real work,
the ceiling any durable Python service can reach in that benchmark. Run as its own process like the floor:
``python -m benchmarks.durable_floor`` prints ``floor listening on 127.0.0.1:PORT`` and serves until SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import json
import signal
import sqlite3
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from .floor_server import LISTENING

Write = Callable[[sqlite3.Connection], Any]
GREETING = json.dumps({"tipo": "info", "status": "connected", "mensaje": "durable floor"})


class GroupCommitWriter:
    """One thread owns the database; each caller's write is committed with every other write waiting for it."""

    def __init__(self, path: Path, loop: asyncio.AbstractEventLoop) -> None:
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(
            "CREATE TABLE jobs (seq INTEGER PRIMARY KEY, owner TEXT, id TEXT, document TEXT, state TEXT,"
            " UNIQUE (owner, id))"
        )
        self._loop = loop
        self._waiting: list[tuple[Write, asyncio.Future[Any]]] = []
        self._wake = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="durable-floor-writer", daemon=True)
        self._thread.start()

    def write(self, operation: Write) -> asyncio.Future[Any]:
        future = self._loop.create_future()
        with self._wake:
            self._waiting.append((operation, future))
            self._wake.notify()
        return future

    def stop(self) -> None:
        with self._wake:
            self._stopped = True
            self._wake.notify()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._waiting and not self._stopped:
                    self._wake.wait()
                if self._stopped:
                    return
                batch, self._waiting = self._waiting, []
            try:
                self._db.execute("BEGIN IMMEDIATE")
                values = [operation(self._db) for operation, _ in batch]
                self._db.execute("COMMIT")
            except sqlite3.Error as error:  # the whole batch fails, its callers hear it; the thread carries on
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                values = [error] * len(batch)
            self._loop.call_soon_threadsafe(_release, batch, values)


def _release(batch: list[tuple[Write, asyncio.Future[Any]]], values: list[Any]) -> None:
    for (_, future), value in zip(batch, values, strict=True):
        if future.done():
            continue
        if isinstance(value, sqlite3.Error):
            future.set_exception(value)
        else:
            future.set_result(value)


def _insert(row: tuple[str, str, str], db: sqlite3.Connection) -> int | None:
    return db.execute("INSERT INTO jobs (owner, id, document, state) VALUES (?, ?, ?, 'queued')", row).lastrowid


async def _printed(writer: GroupCommitWriter, websocket: ServerConnection, seq: int, job_id: str) -> None:
    await writer.write(lambda db: db.execute("UPDATE jobs SET state = 'success' WHERE seq = ?", (seq,)))
    with contextlib.suppress(ConnectionClosed):  # the client left: its result stays in the table, as in the daemon
        await websocket.send(json.dumps({"tipo": "result", "id": job_id, "status": "success", "mensaje": "printed"}))


async def main() -> None:
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, stop.set_result, None)
    printing: set[asyncio.Task[None]] = set()
    with tempfile.TemporaryDirectory(prefix="durable-floor-") as tmp:
        writer = GroupCommitWriter(Path(tmp) / "spool.sqlite3", loop)

        connections = itertools.count()

        async def handle(websocket: ServerConnection) -> None:
            owner = str(next(connections))  # each connection's ids are its own, as with the daemon's client scope
            await websocket.send(GREETING)
            async for frame in websocket:
                message = json.loads(frame)
                job_id, document = str(message.get("id")), json.dumps(message.get("datos"))
                seq = await writer.write(functools.partial(_insert, (owner, job_id, document)))
                ack = {"tipo": "ack", "id": job_id, "status": "queued", "current": 0, "capacity": 100,
                       "mensaje": "Job queued for printing"}  # fmt: skip
                await websocket.send(json.dumps(ack))
                task = asyncio.create_task(_printed(writer, websocket, seq, job_id))
                printing.add(task)
                task.add_done_callback(printing.discard)

        async with serve(handle, "127.0.0.1", 0, compression=None, max_size=8 * 1024 * 1024) as server:
            port = next(iter(server.sockets)).getsockname()[1]
            print(f"{LISTENING}127.0.0.1:{port}", flush=True)
            await stop
        writer.stop()


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
