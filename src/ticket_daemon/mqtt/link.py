"""The broker link's state, as ``/health``, the dashboard and ``/metrics`` show it (one explicit state).

    connecting ──▶ connected ──▶ connecting (lost: reconnecting) ──▶ …
        │                                   │
        ▼                                   ▼
      down (an attempt failed: unreachable, refused, not authorised; retried with backoff)

Written by the MQTT client's network thread, read by the event loop: guarded by a lock. ``last_error`` is a sentence
about the broker (address, reason code), never credentials.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from enum import StrEnum


class LinkState(StrEnum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    DOWN = "down"


@dataclass(frozen=True, slots=True)
class LinkSnapshot:
    state: LinkState
    last_error: str | None
    since: float  # wall clock of the last state change

    def as_dict(self, *, broker: str, site: str) -> dict[str, object]:
        return {
            "state": self.state.value,
            "broker": broker,
            "site": site,
            "last_error": self.last_error,
            "since": round(self.since, 3),
        }


class LinkStatus:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snapshot = LinkSnapshot(LinkState.CONNECTING, None, time.time())

    def snapshot(self) -> LinkSnapshot:
        with self._lock:
            return self._snapshot

    def connected(self) -> None:
        with self._lock:
            self._snapshot = LinkSnapshot(LinkState.CONNECTED, self._snapshot.last_error, time.time())

    def lost(self, reason: str) -> LinkState:
        """The connection dropped: reconnecting, unless the attempt itself had failed (then it stays down)."""
        with self._lock:
            state = LinkState.DOWN if self._snapshot.state is LinkState.DOWN else LinkState.CONNECTING
            self._snapshot = LinkSnapshot(state, reason, time.time())
            return state

    def failed(self, reason: str) -> None:
        with self._lock:
            self._snapshot = LinkSnapshot(LinkState.DOWN, reason, time.time())
