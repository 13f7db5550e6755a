"""Storage faults on real files: a lost or damaged spool stops start-up with how to recover (never a silent empty
spool); a full disk refuses new jobs with ``STORAGE:`` while jobs already accepted still record their states, and
when space returns nothing acked is missing; health says ``degraded`` meanwhile, logged once per change."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from blocking_store import BlockingStore
from clocks import ManualClock
from ticket_daemon.document.errors import Category
from ticket_daemon.store.database import SpoolDamaged, StorageError
from ticket_daemon.store.faults import StoreHealth
from ticket_daemon.store.jobs import Job, JobState
from ticket_daemon.store.sqlite import SqliteSpool

SPOOL_LOG = "ticket_daemon.spool"


def job(job_id: str, size: int = 3) -> Job:
    return Job(
        id=job_id, client_id="pos1", printer="caja1", document="{}", data=os.urandom(size), created_at=1.0,
        updated_at=1.0,
    )  # fmt: skip


def advice_is_given(error: StorageError, path: Path) -> None:
    assert isinstance(error, SpoolDamaged)  # start-up stops on this one
    text = str(error)
    assert text.startswith("STORAGE: ") and error.category is Category.STORAGE
    assert f"restore {path} from a backup" in text and f"delete {path.with_suffix('.marker')}" in text


def test_a_first_start_writes_the_marker_and_a_second_finds_its_jobs(tmp_path: Path) -> None:
    path = tmp_path / "spool.sqlite3"
    store = BlockingStore(path)
    assert path.with_suffix(".marker").exists()
    store.add(job("kept"), capacity=10)
    store.close()
    assert [j.id for j in BlockingStore(path).recent()] == ["kept"]


def test_a_spool_truncated_to_zero_bytes_stops_start_up(tmp_path: Path) -> None:
    path = tmp_path / "spool.sqlite3"
    BlockingStore(path).close()
    path.write_bytes(b"")
    with pytest.raises(StorageError, match=r"is empty but spool\.marker says it held jobs") as refused:
        BlockingStore(path)
    advice_is_given(refused.value, path)
    assert path.stat().st_size == 0  # nothing was created over it


def test_a_missing_spool_stops_start_up_until_the_marker_is_deleted(tmp_path: Path) -> None:
    path = tmp_path / "spool.sqlite3"
    BlockingStore(path).close()
    path.unlink()
    with pytest.raises(StorageError, match="is missing") as refused:
        BlockingStore(path)
    advice_is_given(refused.value, path)
    path.with_suffix(".marker").unlink()  # what the operator does to start empty on purpose
    assert BlockingStore(path).size() == 0


def test_a_damaged_spool_stops_start_up(tmp_path: Path) -> None:
    path = tmp_path / "spool.sqlite3"
    store = BlockingStore(path)
    for n in range(300):
        store.add(job(f"j{n}", size=200), capacity=1000)
    store.close()  # the last connection checkpoints the WAL into the file
    raw = bytearray(path.read_bytes())
    assert len(raw) > 8 * 4096
    raw[4 * 4096 : 6 * 4096] = b"\xa5" * (2 * 4096)  # two pages of the table's b-tree overwritten
    path.write_bytes(bytes(raw))
    with pytest.raises(StorageError) as refused:
        BlockingStore(path)
    advice_is_given(refused.value, path)


def test_a_full_disk_refuses_new_jobs_and_loses_nothing_acked(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=SPOOL_LOG)
    path = tmp_path / "spool.sqlite3"

    def disk(pages: int) -> None:  # max_page_count: the file may not grow, SQLITE_FULL as on a full disk
        store = spool._store
        assert store is not None
        spool._runner.submit(lambda: store._db.execute(f"PRAGMA max_page_count = {pages}")).result(timeout=10)

    async def story() -> list[int]:
        await spool.open(now=0.0, interrupted_policy="reprint")
        in_flight = await spool.add(job("in-flight"), capacity=10_000)
        acked = [in_flight.seq]
        disk(1)  # clamped to the current size
        refused: StorageError | None = None
        for n in range(500):
            try:
                acked.append((await spool.add(job(f"j{n}", size=2000), capacity=10_000)).seq)
            except StorageError as error:
                refused = error
                break
        assert refused is not None, "the disk never filled up"
        assert str(refused).startswith("STORAGE: ") and "full" in str(refused)
        assert spool.health.status == "degraded" and "full" in spool.health.reason
        for n in range(5):  # every new job is refused, with one log line for all of them
            with pytest.raises(StorageError):
                await spool.add(job(f"refused-{n}"), capacity=10_000)
        clock.advance(1.2)  # past the first look for free space: the file still may not grow
        assert spool.health.status == "degraded"
        assert (await spool.refresh_health()).status == "degraded"  # that look, done now
        with pytest.raises(StorageError):
            await spool.add(job("refused-later"), capacity=10_000)
        assert spool.health.status == "degraded"
        # The job being printed still records its states and result.
        await spool.move(in_flight.seq, JobState.PRINTING, now=2.0, attempts=1)
        await spool.move(in_flight.seq, JobState.SUCCESS, now=3.0, message="Print completed in 5ms")

        disk(1_000_000)  # space returns
        clock.advance(60)  # past the next look for free space
        for _ in range(100):
            if spool.health.ok:
                break
            await asyncio.sleep(0.05)
        assert spool.health.ok
        acked.append((await spool.add(job("after"), capacity=10_000)).seq)
        await spool.close()
        return acked

    clock = ManualClock()
    spool = SqliteSpool(path, clock=clock)
    acked = asyncio.run(asyncio.wait_for(story(), timeout=60))
    lines = [r.getMessage() for r in caplog.records if r.name == SPOOL_LOG]
    assert len([line for line in lines if line.startswith("spool degraded")]) == 1, lines
    assert len([line for line in lines if line.startswith("spool healthy again")]) == 1, lines

    again = BlockingStore(path)
    stored = {j.seq: j for j in again.recent(10_000)}
    assert set(acked) <= set(stored)
    assert stored[acked[0]].state is JobState.SUCCESS
    for seq in acked[1:]:  # every acked job can still be printed and finished
        again.move(seq, JobState.PRINTING, now=4.0)
        again.move(seq, JobState.SUCCESS, now=5.0)
    assert again.count_pending() == 0
    again.close()


def _mount_tmpfs(directory: Path, size: str) -> bool:
    if os.name != "posix" or os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    directory.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(directory)], check=False,
                          capture_output=True, timeout=10)  # fmt: skip
    return done.returncode == 0


def test_on_a_really_full_disk_the_reserve_lets_accepted_jobs_finish_and_nothing_acked_is_lost(
    tmp_path: Path,
) -> None:
    disk = tmp_path / "small-disk"
    if not _mount_tmpfs(disk, "512k"):
        pytest.skip("needs root to mount a 512 KB tmpfs (the max_page_count test covers the same without it)")
    try:
        path = disk / "spool.sqlite3"
        filler = disk / "filler"

        async def story() -> list[int]:
            spool = SqliteSpool(path, reserve_bytes=96 * 1024)
            await spool.open(now=0.0, interrupted_policy="reprint")
            free = shutil.disk_usage(disk).free
            filler.write_bytes(b"\0" * max(0, free - 160 * 1024))  # leave a little room for the spool
            acked: list[int] = []
            for n in range(400):
                try:
                    acked.append((await spool.add(job(f"j{n}", size=3000), capacity=10_000)).seq)
                except StorageError as error:
                    assert "full" in str(error)
                    break
            else:
                pytest.fail("the disk never filled up")
            assert acked and not spool.health.ok
            # Accepted jobs go on: the reserve's space records their states and results.
            for seq in acked[:3]:
                await spool.move(seq, JobState.PRINTING, now=2.0, attempts=1)
                await spool.move(seq, JobState.SUCCESS, now=3.0, message="Print completed in 5ms")
            filler.unlink()  # the operator frees space
            for _ in range(100):
                if spool.health.ok:
                    break
                await asyncio.sleep(0.05)
            assert spool.health.ok
            acked.append((await spool.add(job("after", size=3000), capacity=10_000)).seq)
            await spool.close()
            return acked

        acked = asyncio.run(asyncio.wait_for(story(), timeout=60))
        again = BlockingStore(path, reserve_bytes=96 * 1024)
        stored = {j.seq: j for j in again.recent(10_000)}
        assert set(acked) <= set(stored)
        assert all(stored[seq].state is JobState.SUCCESS for seq in acked[:3])
        for seq in acked[3:]:
            again.move(seq, JobState.PRINTING, now=4.0)
            again.move(seq, JobState.SUCCESS, now=5.0)
        again.close()
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False, timeout=30)  # lazy: even if a file is still open


def test_a_spool_file_deleted_while_open_is_reported_degraded_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "spool.sqlite3"
    why = (
        f"the spool file {path} was deleted while the daemon was running: new tickets are refused and the jobs "
        f"already accepted still print; the jobs it held are saved in {tmp_path / 'spool.rescued.sqlite3'}: stop the "
        f"daemon, put that file in place of {path} and start it again"
    )

    async def story() -> None:
        spool = SqliteSpool(path)
        await spool.open(now=0.0, interrupted_policy="reprint")
        await spool.add(job("accepted"), capacity=10)
        path.unlink()

        figures = await spool.report()
        assert figures.health == StoreHealth("degraded", why)
        assert (figures.size, figures.pending) == (1, 1)  # read from the file still open
        assert figures.oldest_pending is not None and figures.oldest_pending.id == "accepted"
        assert await spool.refresh_health() == figures.health
        await spool.close()

    asyncio.run(asyncio.wait_for(story(), timeout=30))


def test_a_spool_file_damaged_while_running_refuses_new_jobs_until_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "spool.sqlite3"
    store = BlockingStore(path)
    accepted = store.add(job("accepted"), capacity=10)
    store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # every page in the file itself, none in the WAL
    with path.open("r+b") as file:  # every page but the first overwritten: the tables are gone
        file.seek(4096)
        file.write(b"\xff" * (path.stat().st_size - 4096))
    other = sqlite3.connect(path, isolation_level=None)  # another writer: the open connection reads pages again
    other.execute("BEGIN IMMEDIATE")
    other.execute("PRAGMA user_version = 2")
    other.execute("COMMIT")
    other.close()

    with pytest.raises(StorageError) as met:
        store.add(job("meets-the-damage"), capacity=10)
    health = store.health
    assert str(met.value) == "STORAGE: " + health.reason
    assert health.status == "degraded"
    assert health.reason.startswith(f"the spool file {path} is damaged (database disk image is malformed): ")
    assert "new tickets are refused" in health.reason and "start it again" in health.reason
    with pytest.raises(StorageError) as refused:
        store.add(job("later"), capacity=10)
    assert str(refused.value) == "STORAGE: " + health.reason  # the sentence that says what to do
    assert store.check_health() == health  # the header is intact: the damage is still what /health reports
    assert accepted.seq > 0
    store.close()
