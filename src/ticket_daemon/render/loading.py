"""Loading the renderer in the background once the daemon serves (:meth:`RenderPool.load_renderer`).

The import holds the interpreter lock for tens of milliseconds at a time. While it runs, the interpreter switches
threads every :data:`LOADING_SWITCH_INTERVAL_S` instead of every 5 ms, so the event loop answers the requests of
the daemon's first moments (``/health``, the dashboard) in between. Loads that overlap (several daemons in one
process, e.g. tests) share one change: the interval set before the first is restored when the last one ends.
"""

from __future__ import annotations

import gc
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

LOADING_SWITCH_INTERVAL_S = 0.0005

_lock = threading.Lock()
_loads_running = 0
_interval_before = 0.0


def load_renderer() -> None:
    """Import the renderer and the document models it reads (``render.work``), switching threads often meanwhile.
    In a process that froze what its start-up built (``ticket-daemon serve``), what the load built is frozen too:
    it lives as long as the process, and full collections need not scan it."""
    with fast_thread_switches():
        from . import work  # noqa: F401 (imported for its side effect: the renderer and the models it reads load)
    if gc.get_freeze_count():
        gc.freeze()


@contextmanager
def fast_thread_switches() -> Iterator[None]:
    """The short switch interval for the duration of the ``with`` block (shared with any block running meanwhile)."""
    global _loads_running, _interval_before
    with _lock:
        if _loads_running == 0:
            _interval_before = sys.getswitchinterval()
            sys.setswitchinterval(LOADING_SWITCH_INTERVAL_S)
        _loads_running += 1
    try:
        yield
    finally:
        with _lock:
            _loads_running -= 1
            if _loads_running == 0:
                sys.setswitchinterval(_interval_before)
