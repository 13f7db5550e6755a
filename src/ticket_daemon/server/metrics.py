"""``GET /metrics``: the daemon in Prometheus text format (prometheus-client).

Each app has its own :class:`CollectorRegistry` (never the library's global one: tests build many apps in one
process). Counters and histograms are fed from three points of a job's life: the job entering the spool
(:meth:`DaemonMetrics.job_accepted`), the intake's reply when a ticket is refused or answered
(:meth:`DaemonMetrics.ticket_answered`), and the job's result (:meth:`DaemonMetrics.job_finished`). Gauges (queue
depth, spool size, connections, broker link) are read from the daemon's own state at scrape time.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from ..protocol import messages
from ..spool.metrics_hooks import NO_METRICS as NO_METRICS
from ..spool.metrics_hooks import JobMetrics as JobMetrics
from ..store.jobs import Job, JobState

if TYPE_CHECKING:
    from .daemon import Daemon
    from .metric_families import MetricFamilies

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
class GaugeSnapshot:
    """The gauges' values, read from the daemon just before a scrape is rendered."""

    queue_depth: float = 0.0
    queue_capacity: float = 0.0
    spool_rows: float = 0.0
    connections: float = 0.0
    workers_running: float = 0.0
    broker: Mapping[str, object] | None = None


class DaemonMetrics:
    """One per app: the counters, histograms and the scrape-time gauges of one daemon.

    The Prometheus objects (:class:`~ticket_daemon.server.metric_families.MetricFamilies`) are made on first use: a
    job, a scrape, or :meth:`load_in_background` once the daemon serves. Importing prometheus-client is start-up
    time the daemon does not need before it serves."""

    def __init__(self, broker_link: Callable[[], Mapping[str, object] | None] = lambda: None) -> None:
        self._broker_link = broker_link
        self._snapshot = GaugeSnapshot()
        self._families: MetricFamilies | None = None
        self._making = threading.Lock()  # the event loop and the background load may both ask first

    @property
    def families(self) -> MetricFamilies:
        families = self._families
        if families is None:
            with self._making:
                if self._families is None:
                    from .metric_families import MetricFamilies

                    self._families = MetricFamilies(self.snapshot)
                families = self._families
        return families

    def load_in_background(self) -> None:
        """Make the Prometheus objects in a thread of their own, so the first job does not wait for the import."""
        threading.Thread(target=lambda: self.families, name="metrics-load", daemon=True).start()

    def set_broker_link(self, broker_link: Callable[[], Mapping[str, object] | None]) -> None:
        self._broker_link = broker_link

    # --- the hooks (JobMetrics) ----------------------------------------------------------------------------------

    def job_accepted(self, job: Job) -> None:
        families = self.families
        families.labelled(families.accepted, job.printer).inc()

    def ticket_answered(self, reply: Mapping[str, Any], *, seconds: float) -> None:
        tipo = reply.get("tipo")
        families = self.families
        if tipo == "error":
            families.labelled(families.refused, category_of(str(reply.get("mensaje", "")))).inc()
        elif tipo == "ack" and reply.get("status") != "queued":
            families.duplicates.inc()
        if tipo in ("ack", "error"):
            families.render_seconds.observe(seconds)

    def job_finished(self, job: Job) -> None:
        families = self.families
        if job.state is JobState.SUCCESS:
            families.labelled(families.printed, job.printer).inc()
        else:
            category = job.state.value.upper() if job.state is not JobState.ERROR else category_of(job.message)
            families.labelled(families.failed, job.printer, category).inc()
        families.labelled(families.print_seconds, job.printer).observe(max(0.0, job.updated_at - job.created_at))

    # --- scrape --------------------------------------------------------------------------------------------------

    async def refresh(self, daemon: Daemon) -> None:
        """Read the gauges from the daemon (the store is async, so this happens before rendering the text)."""
        spool = await daemon.spool.spool_report()
        self._snapshot = GaugeSnapshot(
            queue_depth=float(str(spool.get("pending", 0))),
            queue_capacity=float(daemon.spool.capacity),
            spool_rows=float(str(spool.get("size", 0))),
            connections=float(len(daemon.connections)),
            workers_running=1.0 if daemon.spool.workers_running() else 0.0,
            broker=self._broker_link(),
        )

    def snapshot(self) -> GaugeSnapshot:
        return self._snapshot

    def render(self) -> bytes:
        return self.families.render()


def metrics_endpoint(daemon: Daemon, metrics: DaemonMetrics) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        await metrics.refresh(daemon)
        return Response(metrics.render(), media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})

    return endpoint
