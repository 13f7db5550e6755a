"""Rate limits: jobs per minute per connection under a ceiling per address (a connection's message budget is the
protocol's: ``protocol/flood.py``).

Both take ``now`` (monotonic seconds) as an argument, so they decide without reading a clock and tests drive them
with any timeline.
"""

from __future__ import annotations

from collections import OrderedDict, deque

# docs/protocol.md "Rate limits and floods": one address may submit at most this many times the per-connection limit per
# minute, across all its connections and HTTP requests. Ten tills behind one shop router still each get their full
# budget, while a client reconnecting in a loop (a new connection, a new budget) is stopped at the ceiling.
ADDRESS_CEILING_FACTOR = 10
WINDOW_SECONDS = 60.0


def _expire(times: deque[float], now: float) -> None:
    """Drop the events that left the sliding window."""
    while times and now - times[0] >= WINDOW_SECONDS:
        times.popleft()


class SlidingWindows:
    """At most ``per_minute`` events in any 60 s window per key (sliding window).

    Remembers at most ``max_keys`` keys, kept in the order of their last event: a key whose last event left the
    window holds nothing and is forgotten, and beyond ``max_keys`` the least recently seen goes first, so a scan
    from many addresses cannot grow memory without bound.
    """

    def __init__(self, per_minute: int, *, max_keys: int = 10_000) -> None:
        self.per_minute = per_minute
        self._max_keys = max_keys
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    def has_room(self, key: str, now: float) -> bool:
        self._forget_idle(now)
        times = self._seen.get(key)
        if times is None:
            return True
        _expire(times, now)
        return len(times) < self.per_minute

    def record(self, key: str, now: float) -> None:
        times = self._seen.pop(key, None) or deque()
        _expire(times, now)
        times.append(now)
        self._seen[key] = times  # last: the most recently seen
        while len(self._seen) > self._max_keys:
            self._seen.popitem(last=False)

    def _forget_idle(self, now: float) -> None:
        while self._seen:
            times = next(iter(self._seen.values()))
            if times and now - times[-1] < WINDOW_SECONDS:
                return
            self._seen.popitem(last=False)


class JobRateLimiter:
    """docs/protocol.md "Rate limits and floods": tickets and previews per minute (``per_minute``; 0 turns it off).

    - Each connection has its own budget of ``per_minute`` (:meth:`for_connection`), as in the original daemon:
      tills sharing one auth token or one client_id do not share a budget.
    - Every address has a ceiling of ``ADDRESS_CEILING_FACTOR × per_minute`` across all its connections and
      requests, so reconnecting in a loop cannot escape the limit.
    - A request without a connection (the HTTP mirror) counts against a budget of ``per_minute`` per address
      (:meth:`allow`): the address is all we know of who sent it, so its requests are treated as one connection.

    Only addresses are remembered here (bounded, idle ones forgotten); a connection's own budget lives in its
    :class:`ConnectionRateLimit`, dropped with the connection.
    """

    def __init__(self, per_minute: int, *, max_addresses: int = 10_000) -> None:
        self.per_minute = per_minute
        self._ceiling = SlidingWindows(per_minute * ADDRESS_CEILING_FACTOR, max_keys=max_addresses)
        self._requests = SlidingWindows(per_minute, max_keys=max_addresses)

    def for_connection(self) -> ConnectionRateLimit:
        """A new connection's budget (intake's ``RateLimit``): ``allow(address, now)``."""
        return ConnectionRateLimit(self)

    def allow(self, address: str, now: float, /) -> bool:
        """Count one request from ``address`` (HTTP mirror) if its budget and its address's ceiling allow it;
        False, and nothing counted, if not."""
        if self.per_minute <= 0:
            return True
        if not self._requests.has_room(address, now) or not self.take_from_ceiling(address, now):
            return False
        self._requests.record(address, now)
        return True

    def take_from_ceiling(self, address: str, now: float) -> bool:
        """Count one job or preview against ``address``'s ceiling; False (nothing counted) when it is reached."""
        if not self._ceiling.has_room(address, now):
            return False
        self._ceiling.record(address, now)
        return True

    def remembered_addresses(self) -> int:
        """How many addresses the limiter holds state for (its memory: connections add nothing here)."""
        return len(self._ceiling) + len(self._requests)


class ConnectionRateLimit:
    """One connection's budget of ``per_minute`` jobs and previews, under its address's ceiling shared with every
    other connection and request from there. Implements intake's ``RateLimit``; it lives as long as the
    connection that holds it (at most ``per_minute`` timestamps)."""

    def __init__(self, limiter: JobRateLimiter) -> None:
        self._limiter = limiter
        self._times: deque[float] = deque()

    def allow(self, address: str, now: float, /) -> bool:
        """Count one job or preview if this connection and ``address``'s ceiling both have room; False (nothing
        counted) if either does not."""
        per_minute = self._limiter.per_minute
        if per_minute <= 0:
            return True
        _expire(self._times, now)
        if len(self._times) >= per_minute or not self._limiter.take_from_ceiling(address, now):
            return False
        self._times.append(now)
        return True
