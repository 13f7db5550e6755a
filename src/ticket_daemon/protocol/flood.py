"""A connection's message budget: how many frames a client may send per second before it is refused, then closed.

Takes ``now`` (monotonic seconds) as an argument, so it decides without reading a clock and tests drive it with any
timeline.
"""

from __future__ import annotations

from enum import Enum


class TokenBucket:
    """``rate`` tokens per second, holding at most ``burst``; starts full."""

    def __init__(self, rate: float, burst: float, *, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._updated = now

    def take(self, now: float) -> bool:
        self._tokens = min(self.burst, self._tokens + max(0.0, now - self._updated) * self.rate)
        self._updated = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


class Verdict(Enum):
    ADMIT = "admit"
    REFUSE_AND_TELL = "refuse and tell"  # first refused message of a flood: one error reply
    REFUSE_QUIETLY = "refuse quietly"  # the rest of it: replying to each would double the flood
    CLOSE = "close"  # the flood persists: close the connection (1008)


class MessageBudget:
    """Per-connection budget: ``rate`` messages/s with bursts of ``burst``. Messages over budget are refused;
    if refusals keep coming (another ``burst`` worth of them beyond what ``rate`` forgives) the connection is
    closed, so a runaway client cannot keep a worker thread and the event loop busy forever."""

    def __init__(self, rate: float, burst: int, *, now: float) -> None:
        self._messages = TokenBucket(rate, burst, now=now)
        self._patience = TokenBucket(rate, burst, now=now)
        self._refusing = False

    def admit(self, now: float) -> Verdict:
        if self._messages.take(now):
            self._refusing = False
            return Verdict.ADMIT
        if not self._patience.take(now):
            return Verdict.CLOSE
        if self._refusing:
            return Verdict.REFUSE_QUIETLY
        self._refusing = True
        return Verdict.REFUSE_AND_TELL
