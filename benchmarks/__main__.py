"""``python -m benchmarks`` (``make bench``): every benchmark section, figures printed to stdout."""

from __future__ import annotations

import sys
from collections.abc import Callable

from . import ackpath, burst, daemon, engine, fleet, lifecycle, spool_bench
from .report import Stats, print_stats

Section = Callable[[Callable[[str, Stats], None]], None]


def main() -> int:
    sections: dict[str, Section] = {
        "engine": engine.run,
        "spool": spool_bench.run,
        "daemon": daemon.run,
        "ackpath": ackpath.run,
        "burst": burst.run,
        "lifecycle": lifecycle.run,
        "fleet": fleet.run,
    }
    chosen = sys.argv[1:] or list(sections)
    for name in chosen:
        print(f"== {name}")
        sections[name](print_stats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
