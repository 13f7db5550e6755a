"""Memory of a process and every process it started (Linux ``/proc``): the figure a shop's machine pays.

PSS (proportional set size, ``/proc/PID/smaps_rollup``) divides each shared page among the processes that map it,
so the PSS of a process tree adds up to what the tree really costs, where RSS would count a forked worker's shared
pages twice. Where ``/proc`` has no such file the figures are None and the benchmark says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_PSS = re.compile(r"^Pss:\s+(\d+)\s+kB", re.MULTILINE)
_RSS = re.compile(r"^Rss:\s+(\d+)\s+kB", re.MULTILINE)


@dataclass(frozen=True)
class TreeMemory:
    processes: int
    pss_kib: int
    rss_kib: int

    def describe(self) -> str:
        return f"{self.pss_kib / 1024:6.1f} MiB PSS ({self.rss_kib / 1024:.1f} MiB RSS) in {self.processes} processes"


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text(encoding="ascii").split()]
        except OSError:
            continue
    return found


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants, parents first."""
    tree, pending = [], [pid]
    while pending:
        current = pending.pop(0)
        tree.append(current)
        pending += _children(current)
    return tree


def tree_memory(pid: int) -> TreeMemory | None:
    pss = rss = count = 0
    for member in process_tree(pid):
        try:
            rollup = Path(f"/proc/{member}/smaps_rollup").read_text(encoding="ascii")
        except OSError:
            continue  # exited meanwhile
        pss_match, rss_match = _PSS.search(rollup), _RSS.search(rollup)
        if pss_match is None or rss_match is None:
            continue
        pss += int(pss_match.group(1))
        rss += int(rss_match.group(1))
        count += 1
    return TreeMemory(count, pss, rss) if count else None
