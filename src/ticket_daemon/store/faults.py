"""What the spool does when its storage fails: the error it raises, its health, the disk-space reserve, and the
marker that tells a lost spool file from a first start.

- A **reserve** file (``spool.reserve``, 8 MiB by default) is preallocated next to the database. When a write fails
  because the disk is full, it is deleted: the space it frees lets jobs already accepted record their states and
  results while new jobs are refused. It is made again once the disk has room, and then new jobs are accepted again.
- **Health** is ``ok`` or ``degraded`` with a reason; each change is logged once (never once per failed write).
- The **marker** (``spool.marker``) is written when the spool file is first created. A missing, empty or unreadable
  spool file where the marker exists means acked jobs were lost (a restore gone wrong, a truncated file): start-up
  stops with how to recover instead of starting a silent empty spool.
- The **file watch** tells whether the file at the spool's path is still the one the daemon has open (deleted,
  replaced or overwritten while it runs). While it is not, an ack would promise what a restart cannot keep: new jobs
  are refused, the jobs already accepted still print (their states go to the file still open), and what that file
  holds is saved next to it so the operator can put it back.
"""

from __future__ import annotations

import logging
import os
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..document.errors import Category, TicketError

log = logging.getLogger("ticket_daemon.spool")

DEFAULT_RESERVE_BYTES = 8 * 1024 * 1024  # room for the states and results of every job in flight, many times over
_CHUNK = 1024 * 1024
SQLITE_HEADER = b"SQLite format 3\x00"  # the first 16 bytes of every SQLite database file


class StorageError(TicketError):
    """The spool could not read or write its file: disk full, read-only, corrupt. Reported, never an ack."""

    category = Category.STORAGE
    retryable = True


class SpoolDamaged(StorageError):
    """The spool file held jobs and is now missing, empty or damaged. Start-up must stop (never run on a silent
    empty spool); the text says how to recover."""


@dataclass(frozen=True, slots=True)
class StoreHealth:
    """What ``/health`` reports for the spool: ``ok``, or ``degraded`` while writes fail (with why)."""

    status: Literal["ok", "degraded"]
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


HEALTHY = StoreHealth("ok")


class HealthMonitor:
    """The spool's health; logs one line when it changes, none while it stays the same."""

    def __init__(self, healthy_again: str = "writes succeed") -> None:
        self.current = HEALTHY
        self._healthy_again = healthy_again

    def degraded(self, reason: str) -> None:
        if self.current.ok:
            log.error("spool degraded: %s", reason)
        self.current = StoreHealth("degraded", reason)

    def recovered(self) -> None:
        if not self.current.ok:
            log.warning("spool healthy again: %s (was: %s)", self._healthy_again, self.current.reason)
        self.current = HEALTHY


class FileWatch:
    """Whether the file at the spool's path is still the database the daemon has open, and intact.

    Cheap enough for every group commit: two ``stat`` calls and a 16-byte read, all served from the OS's caches. The
    watch holds its own descriptor of the file opened at start-up: its link count tells a deleted file even when
    another one was put at the path, and its identity (device, inode) tells a file replaced by another."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        opened = os.fstat(self._fd)
        self._identity = (opened.st_dev, opened.st_ino)

    def problem(self) -> str | None:
        """What happened to the file (a sentence without what to do), or None while it is the one open, intact."""
        try:
            current = os.stat(self.path)
            opened = os.fstat(self._fd)
        except FileNotFoundError:
            return f"the spool file {self.path} was deleted while the daemon was running"
        except OSError as error:
            return f"the spool file {self.path} cannot be checked ({error.strerror})"
        # A link count of 0: the open file is gone even where a new file at the path got its inode number again.
        if (current.st_dev, current.st_ino) != self._identity or opened.st_nlink == 0:
            return f"the spool file {self.path} was replaced by another file while the daemon was running"
        if _header(self._fd) != SQLITE_HEADER:
            return f"the spool file {self.path} was truncated or overwritten while the daemon was running"
        return None

    def close(self) -> None:
        with suppress(OSError):
            os.close(self._fd)


def _header(fd: int) -> bytes:
    try:
        if hasattr(os, "pread"):
            return os.pread(fd, len(SQLITE_HEADER), 0)
        os.lseek(fd, 0, os.SEEK_SET)  # Windows: the watch's own descriptor, used by the spool thread alone
        return os.read(fd, len(SQLITE_HEADER))
    except OSError:
        return b""


def lost_file_advice(database: Path, marker: Path, rescued: Path | None) -> str:
    """What to do about a spool file lost while running: new tickets are refused until the daemon is restarted on a
    file that holds its jobs."""
    if rescued is not None:
        return (
            f"new tickets are refused and the jobs already accepted still print; the jobs it held are saved in "
            f"{rescued}: stop the daemon, put that file in place of {database} and start it again"
        )
    return (
        "new tickets are refused and the jobs already accepted still print; stop the daemon, then "
        + recovery_advice(database, marker)
        + ", and start it again"
    )


class Reserve:
    """A preallocated file whose space is given back to the spool when the disk is full."""

    def __init__(self, path: Path, size: int) -> None:
        self.path = path
        self.size = max(0, size)

    @property
    def held(self) -> bool:
        return self.size == 0 or self.path.exists()

    def ensure(self) -> bool:
        """Make the reserve if it is missing; False when the disk has no room for it (nothing is left behind)."""
        if self.held:
            return True
        try:
            with self.path.open("wb") as file:
                if hasattr(os, "posix_fallocate"):  # real blocks, not a sparse file that would free nothing
                    os.posix_fallocate(file.fileno(), 0, self.size)
                else:
                    for start in range(0, self.size, _CHUNK):
                        file.write(b"\0" * min(_CHUNK, self.size - start))
                file.flush()
                os.fsync(file.fileno())
            return True
        except OSError:
            self.path.unlink(missing_ok=True)
            return False

    def release(self) -> bool:
        """Delete the reserve; True when there was one to give back."""
        if self.size == 0 or not self.path.exists():
            return False
        self.path.unlink(missing_ok=True)
        return True


def recovery_advice(database: Path, marker: Path) -> str:
    return (
        f"restore {database} from a backup (with its -wal file if there is one), or, to start with an empty spool "
        f"and lose the jobs it held, delete {marker}"
    )


def check_marker(database: Path, marker: Path) -> None:
    """Refuse to start a silent empty spool where one existed (its marker is there but the file is gone or empty)."""
    if not marker.exists():
        return
    if not database.exists():
        raise SpoolDamaged(
            f"the spool database {database} is missing but {marker.name} says it held jobs: "
            + recovery_advice(database, marker)
        )
    if database.stat().st_size == 0:
        raise SpoolDamaged(
            f"the spool database {database} is empty but {marker.name} says it held jobs: "
            + recovery_advice(database, marker)
        )


def write_marker(marker: Path) -> None:
    if marker.exists():
        return
    marker.write_text(
        "This directory holds a ticket-daemon spool. While this file exists, a missing or empty spool database is\n"
        "an error at start-up (acked jobs would be lost silently). Delete it only to start with an empty spool.\n"
    )
