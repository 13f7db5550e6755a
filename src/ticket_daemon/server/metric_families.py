"""The daemon's Prometheus objects (prometheus-client): its registry, counters, histograms and the collector of the
gauges read at scrape time. :class:`~ticket_daemon.server.metrics.DaemonMetrics` makes them on first use, so the
library loads after the daemon serves instead of before."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.registry import Collector

from .metrics import LINK_STATES, PRINT_BUCKETS, RENDER_BUCKETS, GaugeSnapshot

M = TypeVar("M", bound=MetricWrapperBase)


class MetricFamilies:
    """One daemon's counters and histograms in a registry of their own, with the gauges of ``snapshot``."""

    def __init__(self, snapshot: Callable[[], GaugeSnapshot]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.accepted = Counter(
            "ticket_daemon_jobs_accepted", "Jobs stored in the spool (acked)", ["printer"], registry=self.registry
        )
        self.duplicates = Counter(
            "ticket_daemon_jobs_duplicate", "Tickets answered as a duplicate id", registry=self.registry
        )
        self.refused = Counter(
            "ticket_daemon_jobs_refused", "Tickets answered with an error, by category", ["category"],
            registry=self.registry,
        )  # fmt: skip
        self.printed = Counter(
            "ticket_daemon_jobs_printed", "Jobs printed successfully", ["printer"], registry=self.registry
        )
        self.failed = Counter(
            "ticket_daemon_jobs_failed", "Jobs that ended without printing (error, expired, cancelled)",
            ["printer", "category"], registry=self.registry,
        )  # fmt: skip
        self.render_seconds = Histogram(
            "ticket_daemon_render_seconds",
            "Time from a ticket's arrival to its ack or error: validation, rendering and spooling",
            buckets=RENDER_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.print_seconds = Histogram(
            "ticket_daemon_print_seconds",
            "Time from a job's acceptance to its result: the wait for its printer and the printing",
            ["printer"], buckets=PRINT_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.registry.register(_StateCollector(snapshot))
        self._children: dict[tuple[int, tuple[str, ...]], MetricWrapperBase] = {}

    def labelled(self, metric: M, *values: str) -> M:
        """``metric.labels(*values)``, made once (the library's advice for hot paths: ``labels`` checks and looks
        up its values under a lock on every call). Values are printer names and error categories: a few dozen."""
        key = (id(metric), values)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*values)
        return child  # type: ignore[return-value]  # made by metric.labels: the metric's own type

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _StateCollector(Collector):
    def __init__(self, snapshot: Callable[[], GaugeSnapshot]) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterable[Metric]:
        snapshot = self._snapshot()
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
