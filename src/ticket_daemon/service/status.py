"""``ticket-daemon status``: ask a running daemon's ``GET /health`` (docs/protocol.md "GET /health") and print it
readably.

Exit status: 0 when the daemon answers ``ok``, 1 when it answers ``degraded`` or does not answer at all, 2 for a
configuration that cannot be read. Only the local daemon's own address is asked; no proxy is ever used.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from typing import Any

from ..config import ConfigError, load_settings
from .console import EXIT_CONFIG, EXIT_OK, EXIT_START_FAILED, dashboard_url

# /health never talks to a printer, so a healthy daemon answers at once; longer means it is stuck.
STATUS_TIMEOUT_SECONDS = 5.0
# /health is a few hundred bytes; anything far bigger is not our daemon.
MAX_HEALTH_BYTES = 64 * 1024


def health_url(args: argparse.Namespace) -> str:
    """``--url`` as given, or the configured host and port (the wildcard address is asked on localhost)."""
    url: str | None = getattr(args, "url", None)
    if url:
        return url.rstrip("/") + "/health"
    flags = {"server": {"port": getattr(args, "port", None)}}
    settings = load_settings(getattr(args, "config", None), flags)
    return dashboard_url(settings.server.host, settings.server.port) + "health"


def fetch_health(url: str, timeout: float = STATUS_TIMEOUT_SECONDS) -> dict[str, Any]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=timeout) as response:
        body = response.read(MAX_HEALTH_BYTES + 1)
    if len(body) > MAX_HEALTH_BYTES:
        raise ValueError("the answer is too large to be a ticket-daemon /health report")
    report = json.loads(body)
    if not isinstance(report, dict) or "status" not in report:
        raise ValueError("the answer is not a ticket-daemon /health report")
    return report


def format_health(report: dict[str, Any], url: str) -> str:
    """The report as a few aligned lines a shop assistant can read out on the phone."""
    queue = report.get("queue", {})
    worker = report.get("worker", {})
    printers = report.get("printers", {})
    build = report.get("build", {})
    rows = [
        ("status", str(report.get("status"))),
        ("address", url.removesuffix("health")),
        ("version", f"{build.get('version', '?')} (env {build.get('env', '?')})"),
        ("uptime", _duration(int(report.get("uptime_seconds", report.get("uptime", 0)) or 0))),
        (
            "queue",
            f"{queue.get('current', '?')} of {queue.get('capacity', '?')} jobs ({queue.get('utilization', '?')}%)",
        ),
        (
            "jobs",
            f"{worker.get('jobs_processed', '?')} printed, {worker.get('jobs_failed', '?')} failed; "
            f"workers {'running' if worker.get('running') else 'NOT running'}",
        ),
        ("printers", _printers(printers)),
        ("clients", str(report.get("connections", "?"))),
    ]
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label.ljust(width)}  {value}" for label, value in rows)


def status_main(args: argparse.Namespace) -> int:
    """Entry point of ``ticket-daemon status [--url URL | --config FILE --port N]``."""
    try:
        url = health_url(args)
    except ConfigError as error:
        print(str(error), file=sys.stderr)
        return EXIT_CONFIG
    try:
        report = fetch_health(url, timeout=float(getattr(args, "timeout", None) or STATUS_TIMEOUT_SECONDS))
    except (OSError, ValueError) as error:  # URLError and timeouts are OSErrors; bad JSON is a ValueError
        reason = getattr(error, "reason", None) or error
        print(f"EXECUTION: no ticket-daemon answers at {url}: {reason}", file=sys.stderr)
        return EXIT_START_FAILED
    print(format_health(report, url))
    return EXIT_OK if report.get("status") == "ok" else EXIT_START_FAILED


def _printers(summary: Any) -> str:
    if not isinstance(summary, dict):
        return "?"
    return (
        f"{summary.get('status', '?')}: {summary.get('detected_count', '?')} configured, "
        f"{summary.get('thermal_count', '?')} physical thermal; default {summary.get('default_name', '?')}"
    )


def _duration(seconds: int) -> str:
    days, rest = divmod(max(0, seconds), 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours:d}h {minutes:02d}m {secs:02d}s"
    return f"{days}d {text}" if days else text
