"""A clock the test moves by hand, for code that takes ``clock=``: a wait or a window passes at once, and exactly."""

from __future__ import annotations

import threading


class ManualClock:
    """Seconds that move only when :meth:`advance` is called; safe to read from the thread the code runs on."""

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds
