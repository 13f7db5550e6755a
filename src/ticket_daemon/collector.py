"""The cyclic garbage collector in the daemon's long-lived processes: ``ticket-daemon serve`` once it serves, and
each render worker once its imports are done.

Nearly every object a job makes is freed by reference counting, so collections find little, while each full one
scans everything the process holds. At Python's default threshold (a young collection every 700 tracked objects
allocated, net) 100 connections of small tickets cost the daemon ~25 young collections a second, and the full ones
that followed paused its event loop for up to 50 ms; a render worker's first full collection, of the libraries it
imported, paused a render for ~60 ms. So what exists when a process settles is frozen (it lives as long as the
process: collections never scan it again, nor copy the pages a forked worker shares with its server), and young
collections run every :data:`YOUNG_THRESHOLD` allocations: a busy daemon collects a few times a minute, ~15 ms each.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 20_000


def settle() -> None:
    """Freeze every object tracked now and collect the young generation every :data:`YOUNG_THRESHOLD` allocations
    from here on (the older generations' thresholds stay Python's)."""
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *gc.get_threshold()[1:])
