"""``GET /metrics``: the daemon in Prometheus text format (prometheus-client).

Each app has its own :class:`CollectorRegistry` (never the library's global one: tests build many apps in one
process). Counters and histograms are fed from three points of a job's life: the job entering the spool
(:meth:`DaemonMetrics.job_accepted`), the intake's reply when a ticket is refused or answered
(:meth:`DaemonMetrics.ticket_answered`), and the job's result (:meth:`DaemonMetrics.job_finished`). Gauges (queue
depth, spool size, connections, broker link) are read from the daemon's own state at scrape time.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response

from ..protocol import messages
from ..spool.metrics_hooks import NO_METRICS as NO_METRICS
from ..spool.metrics_hooks import JobMetrics as JobMetrics
from ..store.jobs import Job, JobState

if TYPE_CHECKING:
    from .daemon import Daemon

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Seconds: a one-line ticket is acked in ~1 ms, a receipt with images in tens of ms; printing takes seconds.
RENDER_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
PRINT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0)
LINK_STATES = ("connected", "connecting", "down")
# Refusals whose text has no "CATEGORY:" prefix (docs/protocol.md "Exact texts clients match on") get one for the label.
_PLAIN_REFUSALS = {
    messages.DATOS_REQUIRED: "VALIDATION",
    messages.QUEUE_FULL: "QUEUE_FULL",
    messages.RATE_LIMITED: "RATE_LIMIT",
    messages.AUTH_INVALID: "AUTH",
}
_CATEGORY = re.compile(r"^([A-Z_]+): ")


def category_of(mensaje: str) -> str:
    """``CATEGORY`` of a ``CATEGORY: sentence`` (or of one of the original's plain texts); ``OTHER`` otherwise."""
    if mensaje in _PLAIN_REFUSALS:
        return _PLAIN_REFUSALS[mensaje]
    match = _CATEGORY.match(mensaje)
    return match.group(1) if match else "OTHER"


@dataclass
class _Snapshot:
    """The gauges' values, read from the daemon just before a scrape is rendered."""

    queue_depth: float = 0.0
    queue_capacity: float = 0.0
    spool_rows: float = 0.0
    connections: float = 0.0
    workers_running: float = 0.0
    broker: Mapping[str, object] | None = None


class DaemonMetrics:
    """One per app: the counters, histograms and the scrape-time gauges of one daemon."""

    def __init__(self, broker_link: Callable[[], Mapping[str, object] | None] = lambda: None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._broker_link = broker_link
        self._snapshot = _Snapshot()
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
        self.registry.register(_StateCollector(self))

    def set_broker_link(self, broker_link: Callable[[], Mapping[str, object] | None]) -> None:
        self._broker_link = broker_link

    # --- the hooks (JobMetrics) ----------------------------------------------------------------------------------

    def job_accepted(self, job: Job) -> None:
        self.accepted.labels(job.printer).inc()

    def ticket_answered(self, reply: Mapping[str, Any], *, seconds: float) -> None:
        tipo = reply.get("tipo")
        if tipo == "error":
            self.refused.labels(category_of(str(reply.get("mensaje", "")))).inc()
        elif tipo == "ack" and reply.get("status") != "queued":
            self.duplicates.inc()
        if tipo in ("ack", "error"):
            self.render_seconds.observe(seconds)

    def job_finished(self, job: Job) -> None:
        if job.state is JobState.SUCCESS:
            self.printed.labels(job.printer).inc()
        else:
            category = job.state.value.upper() if job.state is not JobState.ERROR else category_of(job.message)
            self.failed.labels(job.printer, category).inc()
        self.print_seconds.labels(job.printer).observe(max(0.0, job.updated_at - job.created_at))

    # --- scrape --------------------------------------------------------------------------------------------------

    async def refresh(self, daemon: Daemon) -> None:
        """Read the gauges from the daemon (the store is async, so this happens before rendering the text)."""
        spool = await daemon.spool.spool_report()
        self._snapshot = _Snapshot(
            queue_depth=float(str(spool.get("pending", 0))),
            queue_capacity=float(daemon.spool.capacity),
            spool_rows=float(str(spool.get("size", 0))),
            connections=float(len(daemon.connections)),
            workers_running=1.0 if daemon.spool.workers_running() else 0.0,
            broker=self._broker_link(),
        )

    def snapshot(self) -> _Snapshot:
        return self._snapshot

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _StateCollector(Collector):
    def __init__(self, metrics: DaemonMetrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterable[Metric]:
        snapshot = self._metrics.snapshot()
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


def metrics_endpoint(daemon: Daemon, metrics: DaemonMetrics) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        await metrics.refresh(daemon)
        return Response(metrics.render(), media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})

    return endpoint
