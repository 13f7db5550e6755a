"""``/health`` says how much room the data directory's disk has left, so a disk that fills is seen (the dashboard's
banner warns) before the spool has to refuse new tickets."""

from __future__ import annotations

import shutil

import httpx

from server.harness import DaemonLauncher


def test_health_reports_the_free_and_total_bytes_of_the_data_directorys_disk(daemons: DaemonLauncher) -> None:
    running = daemons.start()
    health = httpx.get(f"{running.http_url}/health").json()
    disk = health["disk"]
    assert set(disk) == {"free_bytes", "total_bytes"}
    assert 0 < disk["free_bytes"] <= disk["total_bytes"]
    assert disk["total_bytes"] == shutil.disk_usage(running.settings.storage.data_dir).total
