"""One daemon's story, in process: the settings, tickets and waits the daemon behaviour tests share (the printer is
a refused or virtual one on 127.0.0.1; every wait is bounded)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from server.harness import receipt, refused_port
from spool.outbox import Outbox
from ticket_daemon.config import Settings, load_settings
from ticket_daemon.protocol.connection import ClientIdentity
from ticket_daemon.protocol.requests import Refusal, parse
from ticket_daemon.server.daemon import Daemon
from ticket_daemon.spool.intake import Submitter
from ticket_daemon.spool.service import serve
from ticket_daemon.store.jobs import JobState

WAIT_S = 10.0
Message = dict[str, Any]


def settings_for(
    data_dir: Path,
    printers: list[dict[str, Any]],
    *,
    spool: dict[str, Any] | None = None,
    storage: str = "sqlite",
    **server: Any,
) -> Settings:
    return load_settings(
        None,
        {
            "server": {"host": "127.0.0.1", "port": 0, "shutdown_grace_seconds": 2.0, **server},
            "storage": {"data_dir": str(data_dir), "spool": storage},
            "spool": spool or {},
            "printers": printers,
        },
    )


def dead_printer(name: str = "kitchen", *, default: bool = True) -> dict[str, Any]:
    """A network printer nobody answers: its jobs wait (with a long backoff unless the test shortens it)."""
    return {"name": name, "uri": f"tcp://127.0.0.1:{refused_port()}", "default": default}


SLOW_RETRY = {"retry_initial_seconds": 60, "retry_max_seconds": 60}


def ticket(job_id: str | None = None, **extra: Any) -> Message:
    message: Message = {"tipo": "ticket", "datos": receipt("hello"), **extra}
    if job_id is not None:
        message["id"] = job_id
    return message


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(test(), timeout=60))


async def eventually(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    async with asyncio.timeout(WAIT_S):
        while not await condition():
            await asyncio.sleep(0.02)
    assert await condition(), what


async def send(daemon: Daemon, message: Message, address: str = "10.0.0.5", **who: Any) -> list[Message]:
    """Submit a ticket; the list it returns keeps receiving the job's later messages (its sink)."""
    got = Outbox()
    request = parse(message)
    assert not isinstance(request, Refusal), request
    submitter = Submitter(ClientIdentity(address, who.get("client_id")), got, daemon.rate_limiter)
    await serve(daemon.spool, request, submitter)
    return got


# Who ``send`` submits as by default: an anonymous client at 10.0.0.5 owns its ids under its address.
SENDER = "addr/10.0.0.5"


def kinds(messages: list[Message]) -> list[tuple[str, Any]]:
    return [(m["tipo"], m["mensaje"] if m["tipo"] == "error" else m.get("status")) for m in messages]


async def in_state(
    daemon: Daemon, job_id: str, state: JobState, *, attempts_over: int = -1, owner: str = SENDER
) -> bool:
    job = await daemon.spool.store.find(owner, job_id)
    return job is not None and job.state is state and job.attempts > attempts_over


async def has_result(messages: list[Message]) -> bool:
    return any(m["tipo"] == "result" for m in messages)


async def told_waiting(messages: list[Message]) -> bool:
    return any(m["tipo"] == "job" and m["status"] == "waiting" for m in messages)
