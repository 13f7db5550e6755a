"""The daemon in a background thread, for hosts that own the main thread (the Windows service control dispatcher).

It runs exactly what ``ticket-daemon serve`` runs (:func:`console.prepare_server` + :func:`console.run_server`), so
start-up, the banner and the graceful stop are the same in every mode; only the stop request arrives differently
(:meth:`request_stop` instead of a signal).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Protocol

from ..config import Settings
from .console import EXIT_START_FAILED, UVICORN_GRACE_SECONDS, DaemonServer, prepare_server, run_server

log = logging.getLogger(__name__)

# How often ``wait_ready`` looks at the server while it starts.
_POLL_SECONDS = 0.02


class DaemonRunner(Protocol):
    """What a service host needs from a running daemon (the Windows service tests substitute their own)."""

    def start(self) -> None: ...

    def wait_ready(self, timeout: float) -> bool: ...

    def request_stop(self) -> None: ...

    def join(self, timeout: float) -> bool: ...

    @property
    def exit_status(self) -> int | None: ...

    @property
    def stop_bound_seconds(self) -> float: ...


class BackgroundDaemon:
    """One daemon run: :meth:`start` once, then :meth:`request_stop` and :meth:`join`. Every wait is bounded."""

    def __init__(self, settings: Settings, *, console: bool = False) -> None:
        # Built here, on the caller's thread, so a configuration error surfaces as ``ConfigError`` right away.
        self.server: DaemonServer = prepare_server(settings, console=console, announce=False)
        self._thread = threading.Thread(target=self._run, name="ticket-daemon", daemon=True)
        self._status: int | None = None

    @property
    def exit_status(self) -> int | None:
        """None while running; then what ``ticket-daemon serve`` would have exited with."""
        return self._status

    @property
    def stop_bound_seconds(self) -> float:
        """The longest a graceful stop takes: the job in progress, then uvicorn closing what is left."""
        return self.server.daemon.settings.server.shutdown_grace_seconds + UVICORN_GRACE_SECONDS

    def start(self) -> None:
        self._thread.start()

    def wait_ready(self, timeout: float) -> bool:
        """True once the server listens; False if it stopped (failed) or ``timeout`` passed first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.server.started:
                return True
            if not self._thread.is_alive():
                return False
            time.sleep(_POLL_SECONDS)
        return self.server.started

    def request_stop(self) -> None:
        self.server.request_stop()

    def join(self, timeout: float) -> bool:
        """True when the daemon has stopped within ``timeout`` seconds."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        try:
            self._status = run_server(self.server)
        except Exception:  # never lose the reason a service stopped; the host reports the status
            log.exception("the daemon stopped unexpectedly")
            self._status = EXIT_START_FAILED
