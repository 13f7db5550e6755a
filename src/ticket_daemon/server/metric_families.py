"""The daemon's metrics in Prometheus text format (prometheus-client), made at scrape time from the plain counts of
``metric_counts.py`` and the gauges read just before. Loaded by the first scrape: a daemon nobody scrapes never
imports the library.

Each scrape renders its own registry (never the library's global one: tests build many daemons in one process), with
one collector yielding the families in a fixed order: the counters, the histograms, then the gauges. The text is the
library's, as it writes its own counters and histograms: ``_total`` and ``_created`` series for counters, cumulative
``le`` buckets with ``_count``, ``_sum`` and ``_created`` for histograms. ``PROMETHEUS_DISABLE_CREATED_SERIES`` leaves
the ``_created`` series out, as it does for the library's own metrics.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from .metric_counts import CountedSeries, Histogram
from .metrics import LINK_STATES, GaugeSnapshot

# How the library writes a bucket's bound (``le``), as its own histograms do ("0.001", "5.0", "+Inf"); typed here.
_bound_text: Callable[[float], str] = floatToGoString
# The library's own switch, read as it reads it.
CREATED_SERIES = os.environ.get("PROMETHEUS_DISABLE_CREATED_SERIES", "False").lower() not in ("true", "1", "t")


def exposition(counters: Sequence[CountedSeries], histograms: Sequence[Histogram], gauges: GaugeSnapshot) -> bytes:
    """The scrape's text. Runs where the counts are made (the event loop), so it reads them as they stand."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families(counters, histograms, gauges))
    return generate_latest(registry)


class _Families(Collector):
    def __init__(
        self, counters: Sequence[CountedSeries], histograms: Sequence[Histogram], gauges: GaugeSnapshot
    ) -> None:
        self._counters = counters
        self._histograms = histograms
        self._gauges = gauges

    def collect(self) -> Iterable[Metric]:
        for counter in self._counters:
            yield _counter_family(counter)
        for histogram in self._histograms:
            yield _histogram_family(histogram)
        yield from _gauge_families(self._gauges)


def _counter_family(counter: CountedSeries) -> Metric:
    family = CounterMetricFamily(counter.name, counter.documentation, labels=counter.label_names)
    for labels, value in counter.values.items():
        family.add_metric(labels, value, created=counter.created[labels] if CREATED_SERIES else None)
    return family


def _histogram_family(histogram: Histogram) -> Metric:
    family = HistogramMetricFamily(histogram.name, histogram.documentation, labels=histogram.label_names)
    bounds = [_bound_text(bound) for bound in histogram.bounds]
    for labels, series in histogram.series.items():
        family.add_metric(labels, list(zip(bounds, series.cumulative(), strict=True)), series.total)
        if CREATED_SERIES:
            family.add_sample(
                f"{histogram.name}_created", dict(zip(histogram.label_names, labels, strict=True)), series.created
            )
    return family


def _gauge_families(snapshot: GaugeSnapshot) -> Iterable[Metric]:
    yield GaugeMetricFamily("ticket_daemon_queue_depth", "Jobs queued, printing or waiting", snapshot.queue_depth)
    yield GaugeMetricFamily("ticket_daemon_queue_capacity", "Pending jobs allowed", snapshot.queue_capacity)
    yield GaugeMetricFamily("ticket_daemon_spool_jobs", "Jobs stored in the spool, finished ones included",
                            snapshot.spool_rows)  # fmt: skip
    yield GaugeMetricFamily("ticket_daemon_connections", "Open WebSocket connections", snapshot.connections)
    yield GaugeMetricFamily("ticket_daemon_workers_running", "1 when every printer worker runs",
                            snapshot.workers_running)  # fmt: skip
    link = GaugeMetricFamily(
        "ticket_daemon_broker_link", "MQTT broker link: 1 for its current state (none when not configured)",
        labels=["state"],
    )  # fmt: skip
    if snapshot.broker is not None:
        current = snapshot.broker.get("state")
        for state in LINK_STATES:
            link.add_metric([state], 1.0 if state == current else 0.0)
    yield link
