"""The daemon's counters and histograms as plain numbers: what ``GET /metrics`` reports of tickets and jobs.

Every count is made on the event loop (the spool, the doors and the printer workers all run there), so a count is a
dict update with no lock, and nothing of the metrics library is loaded until the first scrape turns these numbers
into Prometheus text (``metric_families.py``). The semantics are Prometheus': a counter's series starts at its first
count (an unlabelled one exists, at 0, from the start), and each series remembers when it began (``_created``); a
histogram counts each observation in the first bucket whose upper bound is at least the value.
"""

from __future__ import annotations

import math
import time
from bisect import bisect_left
from collections.abc import Callable
from itertools import accumulate

Labels = tuple[str, ...]


class CountedSeries:
    """A counter: its value for each combination of label values, and when each combination was first counted."""

    __slots__ = ("_clock", "created", "documentation", "label_names", "name", "values")

    def __init__(
        self, name: str, documentation: str, label_names: Labels = (), *, clock: Callable[[], float] = time.time
    ) -> None:
        self.name = name
        self.documentation = documentation
        self.label_names = label_names
        self.values: dict[Labels, float] = {}
        self.created: dict[Labels, float] = {}
        self._clock = clock
        if not label_names:
            self.values[()] = 0.0
            self.created[()] = clock()

    def inc(self, labels: Labels = ()) -> None:
        values = self.values
        if labels in values:
            values[labels] += 1.0
        else:
            self.created[labels] = self._clock()
            values[labels] = 1.0


class Distribution:
    """One histogram series: how many observations fell in each bucket (not cumulated), their sum, its start."""

    __slots__ = ("counts", "created", "total")

    def __init__(self, buckets: int, created: float) -> None:
        self.counts = [0] * buckets
        self.total = 0.0
        self.created = created

    def cumulative(self) -> list[int]:
        """The count at or below each bucket's upper bound, as Prometheus reports buckets."""
        return list(accumulate(self.counts))


class Histogram:
    """A histogram with fixed upper bounds (``+Inf`` added last), one :class:`Distribution` per label values."""

    __slots__ = ("_clock", "bounds", "documentation", "label_names", "name", "series")

    def __init__(
        self,
        name: str,
        documentation: str,
        bounds: tuple[float, ...],
        label_names: Labels = (),
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self.documentation = documentation
        self.label_names = label_names
        self.bounds = (*sorted(bounds), math.inf)
        self.series: dict[Labels, Distribution] = {}
        self._clock = clock
        if not label_names:
            self.series[()] = Distribution(len(self.bounds), clock())

    def observe(self, amount: float, labels: Labels = ()) -> None:
        series = self.series.get(labels)
        if series is None:
            series = self.series[labels] = Distribution(len(self.bounds), self._clock())
        series.counts[bisect_left(self.bounds, amount)] += 1
        series.total += amount
