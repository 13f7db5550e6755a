"""Rate limits: jobs per minute per client identity, and a message budget per connection.

Both take ``now`` (monotonic seconds) as an argument, so they decide without reading a clock and tests drive them
with any timeline.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from enum import Enum


class JobRateLimiter:
    """PROTOCOL.md: at most ``per_minute`` jobs in any 60 s window per client identity (sliding window).

    Keyed by identity (``client_id``, else token, else remote address), never by connection, so reconnecting
    does not reset it. Remembers at most ``max_clients`` identities (least recently seen forgotten first), so a
    scan from many addresses cannot grow memory without bound.
    """

    WINDOW_SECONDS = 60.0

    def __init__(self, per_minute: int, *, max_clients: int = 10_000) -> None:
        self.per_minute = per_minute
        self._max_clients = max_clients
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()

    def allow(self, identity: str, now: float) -> bool:
        """Count one job for ``identity`` if it is under the limit; False (and nothing counted) if not."""
        if self.per_minute <= 0:
            return True
        times = self._seen.pop(identity, None) or deque()
        while times and now - times[0] >= self.WINDOW_SECONDS:
            times.popleft()
        allowed = len(times) < self.per_minute
        if allowed:
            times.append(now)
        if times:
            self._seen[identity] = times
            while len(self._seen) > self._max_clients:
                self._seen.popitem(last=False)
        return allowed


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
