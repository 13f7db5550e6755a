"""A spool used after the daemon closed it (a ticket still in flight during shutdown) refuses with ``STORAGE: …``,
which the daemon reports, never an internal error; the pending-printers listing the start-up check uses."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ticket_daemon.store.database import StorageError
from ticket_daemon.store.jobs import Job
from ticket_daemon.store.memory import MemoryJobStore
from ticket_daemon.store.sqlite import SqliteSpool


def job(job_id: str, printer: str = "caja1") -> Job:
    return Job(id=job_id, client_id="pos1", printer=printer, document="{}", data=b"x", created_at=1.0, updated_at=1.0)


def test_a_closed_spool_refuses_with_a_storage_error(tmp_path: Path) -> None:
    async def story() -> None:
        spool = SqliteSpool(tmp_path / "spool.sqlite3")
        await spool.open(now=1.0, interrupted_policy="reprint")
        await spool.close()
        with pytest.raises(StorageError, match="closed") as refused:
            await spool.add(job("late"), capacity=10)
        assert str(refused.value).startswith("STORAGE: ")
        with pytest.raises(StorageError, match="closed"):  # /health then says the spool's status is "error"
            await spool.report()
        await spool.close()  # a second close is harmless

    asyncio.run(asyncio.wait_for(story(), timeout=30))


def test_both_stores_list_the_printers_with_pending_jobs(tmp_path: Path) -> None:
    async def story() -> None:
        spool = SqliteSpool(tmp_path / "spool.sqlite3")
        await spool.open(now=1.0, interrupted_policy="reprint")
        memory = MemoryJobStore()
        try:
            for store in (spool, memory):
                for name, printer in (("a", "caja1"), ("b", "bar"), ("c", "caja1")):
                    await store.add(job(name, printer), capacity=10)
                assert sorted(await store.pending_printers()) == ["bar", "caja1"]
        finally:
            await spool.close()

    asyncio.run(asyncio.wait_for(story(), timeout=30))
