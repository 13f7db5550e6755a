"""Loading the renderer in the background once the daemon serves (:meth:`RenderPool.load_renderer`).

The import holds the interpreter lock for tens of milliseconds at a time. While it runs, the interpreter switches
threads every :data:`LOADING_SWITCH_INTERVAL_S` instead of every 5 ms, so the event loop answers the requests of
the daemon's first moments (``/health``, the dashboard) in between. Loads that overlap (several daemons in one
process, e.g. tests) share one change: the interval set before the first is restored when the last one ends.
"""

from __future__ import annotations

import gc
import importlib
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

LOADING_SWITCH_INTERVAL_S = 0.0005
# What images and QR codes need beyond the renderer (numpy, Pillow, zxing-cpp): the daemon's own process loads them
# only for a print it renders while no worker process is up (``pool.py``).
SYMBOL_MODULES = ("ticket_daemon.escpos.image", "ticket_daemon.escpos.qr")

T = TypeVar("T")

_lock = threading.Lock()
_loads_running = 0
_interval_before = 0.0


def load_renderer() -> None:
    """Import the renderer and the document models it reads (``render.work``), switching threads often meanwhile.
    In a process that froze what its start-up built (``ticket-daemon serve``), what the load built is frozen too:
    it lives as long as the process, and full collections need not scan it."""
    _load_frozen(("ticket_daemon.render.work",))


def load_symbol_renderer() -> None:
    """Import :data:`SYMBOL_MODULES` as :func:`load_renderer` imports the renderer. Nothing to do once they are
    loaded."""
    if not all(name in sys.modules for name in SYMBOL_MODULES):
        _load_frozen(SYMBOL_MODULES)


def _load_frozen(names: tuple[str, ...]) -> None:
    """Import ``names`` switching threads often, then freeze what the imports built (where start-up froze its own)."""
    with fast_thread_switches():
        for name in names:
            importlib.import_module(name)
    if gc.get_freeze_count():
        gc.freeze()


def with_symbol_renderer(function: Callable[..., T], *arguments: Any) -> T:
    """``function(*arguments)`` once :func:`load_symbol_renderer` has run (in an inline render thread: the first
    time, the event loop answers in between)."""
    load_symbol_renderer()
    return function(*arguments)


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
