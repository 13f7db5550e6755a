"""``GET /metrics`` counts what happened to tickets and jobs, in Prometheus text format."""

from __future__ import annotations

import threading
import time

import httpx

from server.harness import DaemonLauncher, ticket, wait_until
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


def test_the_prometheus_objects_are_made_once_whoever_asks_first_and_count_from_the_first_job() -> None:
    """They are made on first use (the library loads after the daemon serves): the background load and the event
    loop may ask at the same moment, and a job counted by either lands in the one registry a scrape reads."""
    metrics = DaemonMetrics()
    start = threading.Barrier(8)
    made: list[object] = []

    def ask() -> None:
        start.wait(5)
        made.append(metrics.families)

    askers = [threading.Thread(target=ask) for _ in range(8)]
    for asker in askers:
        asker.start()
    for asker in askers:
        asker.join(10)
    assert len(made) == 8 and all(families is made[0] for families in made)

    fresh = DaemonMetrics()
    fresh.job_accepted(
        new_job("t-1", client_id="till-1", printer="front", document="{}", data=b"x", notes=(), now=time.time())
    )
    assert _samples(fresh.render().decode())['ticket_daemon_jobs_accepted_total{printer="front"}'] == 1.0


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
