"""``GET /metrics`` counts what happened to tickets and jobs, in Prometheus text format."""

from __future__ import annotations

import math
import time

import httpx
import pytest

from server.harness import DaemonLauncher, ticket, wait_until
from ticket_daemon.server.metric_counts import CountedSeries, Histogram
from ticket_daemon.server.metrics import DaemonMetrics
from ticket_daemon.store.records import new_job


def _samples(text: str) -> dict[str, float]:
    """``name{labels}`` → value, for every sample line (comments left out)."""
    lines = (line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))
    return {name: float(value) for name, value in lines}


def test_metrics_count_printed_refused_and_duplicate_tickets_with_their_timings(daemons: DaemonLauncher) -> None:
    running = daemons.start(printers=[{"name": "front", "uri": "virtual://front"}])
    client = running.connect("till-1")
    client.print_job(ticket("t-1", "one"))
    client.print_job(ticket("t-2", "two"))
    assert client.request({"tipo": "ticket", "id": "t-3"})["tipo"] == "error"  # no datos
    assert client.request(ticket("t-1", "one"))["status"] != "queued"  # the same id again: a duplicate
    client.close()

    def scraped() -> dict[str, float]:
        return _samples(httpx.get(f"{running.http_url}/metrics", timeout=5).text)

    wait_until(lambda: scraped().get('ticket_daemon_print_seconds_count{printer="front"}') == 2.0, "both results")
    samples = scraped()
    assert samples['ticket_daemon_jobs_accepted_total{printer="front"}'] == 2.0
    assert samples['ticket_daemon_jobs_printed_total{printer="front"}'] == 2.0
    assert samples["ticket_daemon_jobs_duplicate_total"] == 1.0
    assert samples['ticket_daemon_jobs_refused_total{category="VALIDATION"}'] == 1.0
    # Four answers (two acks, the duplicate's ack, the refusal), each in the buckets at and above its time.
    assert samples["ticket_daemon_render_seconds_count"] == 4.0
    assert samples['ticket_daemon_render_seconds_bucket{le="+Inf"}'] == 4.0
    assert samples['ticket_daemon_render_seconds_bucket{le="5.0"}'] == 4.0
    assert samples['ticket_daemon_print_seconds_bucket{le="+Inf",printer="front"}'] == 2.0
    assert samples['ticket_daemon_jobs_accepted_created{printer="front"}'] > 0
    assert samples["ticket_daemon_queue_depth"] == 0.0
    assert samples["ticket_daemon_queue_capacity"] == running.settings.server.queue_capacity


def test_counts_made_before_the_library_loads_are_all_in_the_first_scrape() -> None:
    """Jobs are counted as plain numbers from the first one; the first scrape renders every count made so far."""
    metrics = DaemonMetrics()
    metrics.job_accepted(
        new_job("t-1", client_id="till-1", printer="front", document="{}", data=b"x", notes=(), now=time.time())
    )
    metrics.ticket_answered({"tipo": "ack", "status": "queued"}, seconds=0.002)
    samples = _samples(metrics.render().decode())
    assert samples['ticket_daemon_jobs_accepted_total{printer="front"}'] == 1.0
    assert samples["ticket_daemon_jobs_duplicate_total"] == 0.0  # an unlabelled counter exists from the start
    assert samples["ticket_daemon_render_seconds_count"] == 1.0


def test_a_histogram_counts_each_value_in_the_first_bucket_at_or_above_it_and_reports_them_cumulated() -> None:
    histogram = Histogram("h", "a histogram", (0.1, 1.0, 0.5))  # bounds in any order: kept sorted
    for value in (0.05, 0.1, 0.3, 0.5, 2.0, 0.0):
        histogram.observe(value)
    series = histogram.series[()]
    assert histogram.bounds == (0.1, 0.5, 1.0, math.inf)
    assert series.counts == [3, 2, 0, 1]  # a value equal to a bound is in that bound's bucket
    assert series.cumulative() == [3, 5, 5, 6]
    assert series.total == pytest.approx(2.95)


def test_each_series_remembers_when_it_was_first_counted() -> None:
    clock = iter([100.0, 200.0, 300.0])
    counter = CountedSeries("c", "a counter", ("printer",), clock=lambda: next(clock))
    counter.inc(("front",))
    counter.inc(("kitchen",))
    counter.inc(("front",))
    assert counter.values == {("front",): 2.0, ("kitchen",): 1.0}
    assert counter.created == {("front",): 100.0, ("kitchen",): 200.0}


def test_created_series_are_left_out_when_prometheus_is_told_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """``PROMETHEUS_DISABLE_CREATED_SERIES`` works for these metrics as for the library's own."""
    from ticket_daemon.server import metric_families

    metrics = DaemonMetrics()
    metrics.ticket_answered({"tipo": "error", "mensaje": "VALIDATION: no commands"}, seconds=0.01)
    assert "ticket_daemon_jobs_refused_created" in metrics.render().decode()
    monkeypatch.setattr(metric_families, "CREATED_SERIES", False)
    text = metrics.render().decode()
    assert "_created" not in text
    assert _samples(text)['ticket_daemon_jobs_refused_total{category="VALIDATION"}'] == 1.0


def test_each_printer_and_category_counts_in_its_own_series() -> None:
    """The labelled series are made once and kept: each count still lands in its own printer's series."""
    metrics = DaemonMetrics()
    for n, printer in enumerate(["front", "kitchen", "front"]):
        job = new_job(
            f"t-{n}", client_id="till-1", printer=printer, document="{}", data=b"x", notes=(), now=time.time()
        )
        metrics.job_accepted(job)
    metrics.ticket_answered({"tipo": "error", "mensaje": "VALIDATION: no commands"}, seconds=0.01)
    metrics.ticket_answered({"tipo": "error", "mensaje": "PRINTER: offline"}, seconds=0.01)
    metrics.ticket_answered({"tipo": "error", "mensaje": "VALIDATION: bad size"}, seconds=0.01)

    samples = _samples(metrics.render().decode())
    assert samples['ticket_daemon_jobs_accepted_total{printer="front"}'] == 2.0
    assert samples['ticket_daemon_jobs_accepted_total{printer="kitchen"}'] == 1.0
    assert samples['ticket_daemon_jobs_refused_total{category="VALIDATION"}'] == 2.0
    assert samples['ticket_daemon_jobs_refused_total{category="PRINTER"}'] == 1.0
