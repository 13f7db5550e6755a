"""CPU time of a process tree, thread by thread (Linux ``/proc``): where each acknowledged job's time goes.

Under a closed-loop load every figure divided by the jobs acked says what one job costs each part of the daemon:
its event loop (the main thread), its other threads (the spool thread, the logging thread, render and device
threads) and its render worker processes. Where ``/proc`` is not there the figures are None.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .memory import process_tree

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class TreeCpu:
    """CPU seconds (user and system) so far: the event loop's thread, the other threads of the same process, and
    every other process of the tree."""

    event_loop: float
    other_threads: float
    other_processes: float

    def __sub__(self, earlier: TreeCpu) -> TreeCpu:
        return TreeCpu(
            self.event_loop - earlier.event_loop,
            self.other_threads - earlier.other_threads,
            self.other_processes - earlier.other_processes,
        )

    def per_job_us(self, jobs: int) -> str:
        scale = 1e6 / max(1, jobs)
        total = self.event_loop + self.other_threads + self.other_processes
        return (
            f"{total * scale:5.0f} us (event loop {self.event_loop * scale:.0f}, other threads"
            f" {self.other_threads * scale:.0f}, render workers {self.other_processes * scale:.0f})"
        )


def _thread_seconds(pid: int, thread: str) -> float:
    stat = Path(f"/proc/{pid}/task/{thread}/stat").read_text(encoding="ascii")
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime


def tree_cpu(pid: int) -> TreeCpu | None:
    """The CPU time of ``pid`` (its main thread apart) and of every process it started, or None without ``/proc``."""
    if not Path(f"/proc/{pid}/task").is_dir():
        return None
    loop = threads = processes = 0.0
    for member in process_tree(pid):
        for thread in os.listdir(f"/proc/{member}/task") if Path(f"/proc/{member}/task").is_dir() else ():
            try:
                seconds = _thread_seconds(member, thread)
            except (OSError, ValueError, IndexError):
                continue  # ended meanwhile
            if member != pid:
                processes += seconds
            elif thread == str(pid):
                loop += seconds
            else:
                threads += seconds
    return TreeCpu(loop, threads, processes)
