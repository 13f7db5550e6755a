"""``GET /metrics``: the daemon in Prometheus text format.

Counters and histograms are fed from three points of a job's life: the job entering the spool
(:meth:`DaemonMetrics.job_accepted`), the intake's reply when a ticket is refused or answered
(:meth:`DaemonMetrics.ticket_answered`), and the job's result (:meth:`DaemonMetrics.job_finished`), and kept as plain
numbers (``metric_counts.py``). Gauges (queue depth, spool size, connections, broker link) are read from the daemon's
own state at scrape time. A scrape turns both into text with prometheus-client (``metric_families.py``), which the
first scrape loads.
"""

from __future__ import annotations

import asyncio
import importlib
import re
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from ..protocol import messages
from ..spool.metrics_hooks import NO_METRICS as NO_METRICS
from ..spool.metrics_hooks import JobMetrics as JobMetrics
from ..store.jobs import Job, JobState
from .metric_counts import CountedSeries, Histogram

if TYPE_CHECKING:
    from .daemon import Daemon

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_EXPOSITION = "ticket_daemon.server.metric_families"  # the module that loads the metrics library
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
    """One per daemon: its counters and histograms (``metric_counts.py``), counted at every job on the event loop,
    and the gauges read at scrape time. The metrics library loads with the first scrape, off the event loop."""

    def __init__(self, broker_link: Callable[[], Mapping[str, object] | None] = lambda: None) -> None:
        self._broker_link = broker_link
        self._snapshot = GaugeSnapshot()
        self.accepted = CountedSeries("ticket_daemon_jobs_accepted", "Jobs stored in the spool (acked)", ("printer",))
        self.duplicates = CountedSeries("ticket_daemon_jobs_duplicate", "Tickets answered as a duplicate id")
        self.refused = CountedSeries(
            "ticket_daemon_jobs_refused", "Tickets answered with an error, by category", ("category",)
        )
        self.printed = CountedSeries("ticket_daemon_jobs_printed", "Jobs printed successfully", ("printer",))
        self.failed = CountedSeries(
            "ticket_daemon_jobs_failed", "Jobs that ended without printing (error, expired, cancelled)",
            ("printer", "category"),
        )  # fmt: skip
        self.render_seconds = Histogram(
            "ticket_daemon_render_seconds",
            "Time from a ticket's arrival to its ack or error: validation, rendering and spooling",
            RENDER_BUCKETS,
        )
        self.print_seconds = Histogram(
            "ticket_daemon_print_seconds",
            "Time from a job's acceptance to its result: the wait for its printer and the printing",
            PRINT_BUCKETS,
            ("printer",),
        )

    def set_broker_link(self, broker_link: Callable[[], Mapping[str, object] | None]) -> None:
        self._broker_link = broker_link

    # --- the hooks (JobMetrics) ----------------------------------------------------------------------------------

    def job_accepted(self, job: Job) -> None:
        self.accepted.inc((job.printer,))

    def ticket_answered(self, reply: Mapping[str, Any], *, seconds: float) -> None:
        tipo = reply.get("tipo")
        if tipo == "error":
            self.refused.inc((category_of(str(reply.get("mensaje", ""))),))
        elif tipo == "ack" and reply.get("status") != "queued":
            self.duplicates.inc()
        if tipo in ("ack", "error"):
            self.render_seconds.observe(seconds)

    def job_finished(self, job: Job) -> None:
        if job.state is JobState.SUCCESS:
            self.printed.inc((job.printer,))
        else:
            category = job.state.value.upper() if job.state is not JobState.ERROR else category_of(job.message)
            self.failed.inc((job.printer, category))
        self.print_seconds.observe(max(0.0, job.updated_at - job.created_at), (job.printer,))

    # --- scrape --------------------------------------------------------------------------------------------------

    async def refresh(self, daemon: Daemon) -> None:
        """Read the gauges from the daemon (the store is async, so this happens before rendering the text); the
        first scrape also loads the metrics library, in a thread."""
        if _EXPOSITION not in sys.modules:
            await asyncio.to_thread(importlib.import_module, _EXPOSITION)
        spool = await daemon.spool.spool_report()
        self._snapshot = GaugeSnapshot(
            queue_depth=float(str(spool.get("pending", 0))),
            queue_capacity=float(daemon.spool.capacity),
            spool_rows=float(str(spool.get("size", 0))),
            connections=float(len(daemon.connections)),
            workers_running=1.0 if daemon.spool.workers_running() else 0.0,
            broker=self._broker_link(),
        )

    def render(self) -> bytes:
        """The Prometheus text of the counts as they stand and the gauges of the last :meth:`refresh`."""
        from .metric_families import exposition

        counters = (self.accepted, self.duplicates, self.refused, self.printed, self.failed)
        return exposition(counters, (self.render_seconds, self.print_seconds), self._snapshot)


def metrics_endpoint(daemon: Daemon, metrics: DaemonMetrics) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        await metrics.refresh(daemon)
        return Response(metrics.render(), media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})

    return endpoint
