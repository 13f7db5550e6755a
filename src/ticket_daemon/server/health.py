"""``GET /health`` exactly as docs/protocol.md "GET /health": public, cheap, and readable from any page (CORS ``*``).

It never talks to a printer (the summary comes from configuration), so monitoring can poll it as often as it
likes. ``degraded`` when the printer summary is ``error`` (no printer at all besides virtual ones), a printer worker
is down, or the spool is degraded: its writes fail, the disk is full, or its file was lost while running
(``spool.reason`` says why and what to do). Each answer describes the present: the spool checks its file, and its
writes after a failure, when asked (cheaply: a ``stat``, and at most one small write a second).
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .. import __version__
from .daemon import Daemon

# Stamped at packaging time when the build knows them; the schema's pattern allows "unknown".
BUILD_DATE = "unknown"
BUILD_TIME = "unknown"


def build_info(env: str) -> dict[str, str]:
    return {"env": env, "date": BUILD_DATE, "time": BUILD_TIME, "version": __version__}


async def disk_report(data_dir: Path) -> dict[str, int] | None:
    """Free and total bytes of the disk holding the data directory (the spool, the logs), so a disk that fills
    is seen before new tickets are refused; None when it cannot be asked. One ``statvfs``, off the event loop."""
    try:
        usage = await asyncio.to_thread(shutil.disk_usage, data_dir)
    except OSError:
        return None
    return {"free_bytes": usage.free, "total_bytes": usage.total}


async def health_report(daemon: Daemon) -> dict[str, Any]:
    # The spool (its thread) and the disk (a worker thread) are asked at once: one wait, not two.
    spool, disk = await asyncio.gather(daemon.spool.spool_report(), disk_report(daemon.settings.storage.data_dir))
    current = int(str(spool.get("pending", 0)))
    capacity = daemon.spool.capacity
    summary = daemon.spool.registry.summary()
    running = daemon.spool.workers_running()
    uptime = daemon.spool.uptime_seconds()
    processed, failed = daemon.spool.jobs_processed, daemon.spool.jobs_failed
    report: dict[str, Any] = {
        "status": "ok" if running and summary["status"] != "error" and spool["status"] == "ok" else "degraded",
        "queue": {"current": current, "capacity": capacity, "utilization": round(current * 100 / capacity, 1)},
        "worker": {"running": running, "jobs_processed": processed, "jobs_failed": failed},
        "printers": summary,
        "build": build_info(daemon.settings.server.env),
        "uptime_seconds": uptime,
        "uptime": uptime,  # the original schema's name for it
        "connections": len(daemon.connections),
        # Rows kept, jobs pending, age of the oldest pending job: a spool that only grows is seen before the disk fills.
        "spool": spool,
    }
    if disk is not None:  # docs/protocol.md "GET /health": more fields may be added
        report["disk"] = disk
    return report


def health_endpoint(daemon: Daemon) -> Callable[[Request], Awaitable[Response]]:
    async def health(request: Request) -> Response:
        report = await health_report(daemon)
        broker_link = getattr(request.app.state, "broker_link", None)
        # docs/protocol.md "GET /health": more fields may be added; this one is the MQTT link, when configured.
        if broker_link is not None:
            report["mqtt"] = broker_link()
        return JSONResponse(
            report,
            headers={"Access-Control-Allow-Origin": "*", "Cache-Control": "no-store"},
        )

    return health
