"""Storage faults as an operator sees them: ``/health`` says ``degraded`` (and why) while the spool's writes fail and
``ok`` once they work again; a worker logs one line per change of state, not one per retry; and a spool that held
jobs but is found empty stops ``ticket-daemon serve`` with one ``STORAGE:`` sentence saying how to recover."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from clocks import ManualClock
from server.harness import DaemonLauncher, RunningDaemon, ticket, wait_until
from ticket_daemon.store.database import SqliteJobStore
from ticket_daemon.store.faults import StorageError, StoreHealth
from ticket_daemon.store.interface import JobKey
from ticket_daemon.store.jobs import Job, JobState
from ticket_daemon.store.memory import MemoryJobStore
from ticket_daemon.store.sqlite import SPOOL_FILE, SqliteSpool

WAIT_S = 15.0


class FailingDisk(MemoryJobStore):
    """A store whose disk fails until :attr:`failing` is cleared: reads of the queue raise, health is degraded."""

    def __init__(self) -> None:
        super().__init__()
        self.failing = True
        self.refused_reads = 0

    @property
    def health(self) -> StoreHealth:
        return StoreHealth("degraded", "spool writes fail: disk I/O error") if self.failing else StoreHealth("ok")

    async def next_for_printer(self, printer: str) -> Job | None:
        if self.failing:
            self.refused_reads += 1
            raise StorageError("the spool could not be read: disk I/O error")
        return await super().next_for_printer(printer)


def test_health_is_degraded_and_the_worker_logs_once_while_the_store_fails(
    daemons: DaemonLauncher, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ticket_daemon.spool.worker")
    store = FailingDisk()
    running = daemons.start(store=store)
    health = httpx.get(f"{running.http_url}/health").json()
    assert health["status"] == "degraded"
    assert (health["spool"]["status"], health["spool"]["reason"]) == ("degraded", "spool writes fail: disk I/O error")

    wait_until(lambda: store.refused_reads >= 3, "the worker to try the queue twice more", WAIT_S)
    failures = [r for r in caplog.records if "cannot read the queue" in r.getMessage()]
    assert len(failures) == 1, [r.getMessage() for r in failures]
    assert failures[0].levelno == logging.ERROR and not failures[0].exc_info  # a sentence, not a traceback

    store.failing = False
    wait_until(lambda: httpx.get(f"{running.http_url}/health").json()["status"] == "ok", "health to be ok again")
    wait_until(lambda: any("works again" in r.getMessage() for r in caplog.records), "the recovery to be logged")
    ack, result = running.connect().print_job(ticket("after-the-fault", "FINE AGAIN"))
    assert (ack["status"], result["status"]) == ("queued", "success")
    assert len([r for r in caplog.records if "cannot read the queue" in r.getMessage()]) == 1


class FailingWrites(MemoryJobStore):
    """A store that takes jobs in but cannot record that one starts printing until :attr:`failing` is cleared (the
    disk filled up right after the ack)."""

    def __init__(self) -> None:
        super().__init__()
        self.failing = False
        self.refused_starts = 0

    @property
    def health(self) -> StoreHealth:
        return (
            StoreHealth("degraded", "spool writes fail: database or disk is full")
            if self.failing
            else StoreHealth("ok")
        )

    async def move(
        self, key: JobKey, target: JobState, *, now: float, message: str | None = None, attempts: int | None = None
    ) -> Job:
        if self.failing and target is JobState.PRINTING:
            self.refused_starts += 1
            raise StorageError("the spool could not be written: database or disk is full")
        return await super().move(key, target, now=now, message=message, attempts=attempts)


def test_a_worker_whose_writes_fail_logs_once_then_prints_when_they_work_again(
    daemons: DaemonLauncher, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ticket_daemon.spool.worker")
    store = FailingWrites()
    running = daemons.start(store=store)
    till = running.connect()
    store.failing = True
    assert till.request(ticket("stuck-1", "STUCK"))["status"] == "queued"
    assert httpx.get(f"{running.http_url}/health").json()["status"] == "degraded"

    wait_until(lambda: store.refused_starts >= 3, "the worker to try to start the job twice more", WAIT_S)
    failures = [r for r in caplog.records if "cannot start job stuck-1" in r.getMessage()]
    assert len(failures) == 1, [r.getMessage() for r in caplog.records]
    assert not any("works again" in r.getMessage() for r in caplog.records)  # reads working is not recovery

    store.failing = False
    result = till.recv(timeout=WAIT_S)
    assert (result["tipo"], result["id"], result["status"]) == ("result", "stuck-1", "success")
    assert len([r for r in caplog.records if "works again" in r.getMessage()]) == 1
    assert httpx.get(f"{running.http_url}/health").json()["status"] == "ok"


def test_serve_stops_with_a_storage_error_when_a_spool_that_held_jobs_is_empty(tmp_path: Path) -> None:
    data_dir = tmp_path / "shop"
    data_dir.mkdir()
    (data_dir / "spool.marker").write_text("this data dir held a spool\n")
    (data_dir / "spool.sqlite3").write_bytes(b"")  # truncated to zero bytes
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("TICKET_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).parents[2] / "src"), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "ticket_daemon", "serve", "--data-dir", str(data_dir), "--port", "0"]
    command += ["--host", "127.0.0.1"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=WAIT_S * 2, env=env)

    assert done.returncode != 0
    assert "ticket-daemon ready" not in done.stdout  # it never served
    lines = [line for line in done.stderr.splitlines() if "STORAGE: the spool database" in line]
    assert len(lines) == 1, done.stderr
    assert "is empty but spool.marker says it held jobs" in lines[0]
    assert "restore" in lines[0] and "delete" in lines[0]  # how to recover
    assert "Traceback" not in done.stderr
    assert (data_dir / "spool.sqlite3").stat().st_size == 0  # left as found, for the operator to restore


def _on_the_spool_thread(running: RunningDaemon, statement: str) -> None:
    """Run one statement on the daemon's own SQLite connection, on its spool thread: a fault injected into the real
    file's writes, or taken away again."""
    store = _sqlite_store(running)
    _spool(running)._runner.submit(lambda: store._db.execute(statement)).result(timeout=WAIT_S)


def _spool(running: RunningDaemon) -> SqliteSpool:
    spool = running.daemon.spool.store
    assert isinstance(spool, SqliteSpool)
    return spool


def _sqlite_store(running: RunningDaemon) -> SqliteJobStore:
    store = _spool(running)._store
    assert store is not None
    return store


def _health(running: RunningDaemon) -> dict[str, Any]:
    report = httpx.get(f"{running.http_url}/health", trust_env=False).json()
    assert isinstance(report, dict)
    return report


def test_health_is_ok_again_once_writes_work_even_before_the_next_ticket(daemons: DaemonLauncher) -> None:
    running = daemons.start()
    till = running.connect("till-a")
    _on_the_spool_thread(running, "PRAGMA query_only = ON")  # every write fails: "attempt to write a readonly …"

    refused = till.request(ticket("refused-1", "NOT STORED"))
    assert refused["tipo"] == "error" and str(refused["mensaje"]).startswith("STORAGE: the spool could not be written")
    report = _health(running)
    assert report["status"] == "degraded" and str(report["spool"]["reason"]).startswith("spool writes fail")

    _on_the_spool_thread(running, "PRAGMA query_only = OFF")  # the fault is gone; no ticket comes meanwhile
    wait_until(lambda: _health(running)["status"] == "ok", "/health to describe the present")
    assert _health(running)["spool"]["status"] == "ok"
    ack, result = till.print_job(ticket("after-1", "STORED AGAIN"))
    assert (ack["status"], result["status"]) == ("queued", "success")


def test_health_is_ok_again_after_a_disk_full_episode_ends(daemons: DaemonLauncher, tmp_path: Path) -> None:
    clock = ManualClock()
    data_dir = tmp_path / "shop"
    running = daemons.start(storage={"data_dir": data_dir}, store=SqliteSpool(data_dir / SPOOL_FILE, clock=clock))
    till = running.connect("till-a")
    _on_the_spool_thread(running, "PRAGMA max_page_count = 1")  # clamped to the file's size: SQLITE_FULL next

    refused: dict[str, Any] = {}
    for n in range(200):  # until the file may grow no more
        reply = till.request(ticket(f"fill-{n}", "X" * 2000))
        if reply["tipo"] == "error":
            refused = reply
            break
        till.recv()  # its result
    assert str(refused.get("mensaje", "")).startswith("STORAGE: the disk is full"), refused
    report = _health(running)
    assert report["status"] == "degraded" and "new jobs are refused" in str(report["spool"]["reason"])

    _on_the_spool_thread(running, "PRAGMA max_page_count = 1000000")  # space comes back; no ticket meanwhile
    clock.advance(60)  # past the spool's wait before it looks for space again
    report = _health(running)  # this very answer looks at the disk as it is now
    assert (report["status"], report["spool"]["status"]) == ("ok", "ok"), report
    ack, result = till.print_job(ticket("after-1", "STORED AGAIN"))
    assert (ack["status"], result["status"]) == ("queued", "success")
    assert _health(running)["status"] == "ok"
