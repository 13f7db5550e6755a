"""Run part of a test as an ordinary user when the tests run as root (CI does).

Root ignores file permissions, so "the daemon may not write here" cannot be seen as root. ``run_as_nobody`` runs a
function in a forked child that has given up root for the ``nobody`` user, the way the daemon runs under a user of
its own in production, and hands back what the function returned (plain data: it crosses a pipe as a pickle).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
NOBODY = 65534  # uid and gid of "nobody" on Debian and most Linux systems
WAIT_S = 30.0


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


@contextlib.contextmanager
def folder_nobody_can_use(mode: int = 0o755) -> Iterator[Path]:
    """A temporary folder that ``nobody`` can reach (pytest's ``tmp_path`` lives under a folder only root may enter)."""
    with tempfile.TemporaryDirectory(prefix="ticket-daemon-unprivileged-") as name:
        folder = Path(name)
        folder.chmod(mode)
        yield folder


def run_as_nobody(function: Callable[[], T]) -> T:
    """``function()`` in a child process running as ``nobody``; its result, or AssertionError naming its failure."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        os.close(read_end)
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            outcome: tuple[bool, object] = (True, function())
        except BaseException as error:
            outcome = (False, f"{type(error).__name__}: {error}")
        with contextlib.suppress(BaseException), os.fdopen(write_end, "wb") as pipe:
            pipe.write(pickle.dumps(outcome))
        os._exit(0)
    os.close(write_end)
    received = bytearray()
    deadline = time.monotonic() + WAIT_S
    try:
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([read_end], [], [], left)
            if not ready:
                continue
            chunk = os.read(read_end, 65536)
            if not chunk:
                break
            received += chunk
        else:
            os.kill(pid, signal.SIGKILL)
            raise AssertionError(f"the unprivileged child did not finish within {WAIT_S:g} s")
    finally:
        os.close(read_end)
        os.waitpid(pid, 0)
    if not received:
        raise AssertionError("the unprivileged child died without an answer")
    succeeded, value = pickle.loads(bytes(received))
    if not succeeded:
        raise AssertionError(f"as nobody: {value}")
    result: T = value  # what the function returned, unpickled
    return result
