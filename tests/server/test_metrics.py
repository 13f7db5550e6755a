"""``GET /metrics`` counts what happened to tickets and jobs, in Prometheus text format."""

from __future__ import annotations

import httpx

from server.harness import DaemonLauncher, ticket, wait_until


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
