"""Fleet benchmark: N daemons (``ticket-daemon serve`` child processes, one per shop) on one local Mosquitto, jobs
published by a cloud client at QoS 1; end-to-end jobs/s and publish→result latency (p50/p99), printed with N.

Each daemon prints to ``file:///dev/null`` with the in-memory spool, so the figures are the MQTT front door, the
intake and the broker, not a printer. Each shop gets its jobs closed-loop (``WINDOW`` in flight: the next job is
published when a result comes back), as a cloud POS with a few tills would send them. Localhost only, every wait
bounded; N is each of ``FLEET_DAEMONS`` (comma-separated, each ≥ 10; default 10 and 20: what fits 2 cores next to
the broker and the load generator — every daemon is a whole Python process of ~60 MB).
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from .lifecycle import DaemonProcess
from .report import Stats

DAEMON_COUNTS = tuple(max(10, int(n)) for n in os.environ.get("FLEET_DAEMONS", "10,20").split(","))
JOBS_PER_SHOP = 100
WINDOW = 4  # jobs in flight per shop
WARMUP_PER_SHOP = 3
LOAD_TIMEOUT_S = 180.0
BROKER_START_TIMEOUT_S = 10.0
PREFIX = "bench"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _receipt(site: str, number: int) -> dict[str, Any]:
    lines = [f"{site} order {number}", "1 x coffee ........ 2.50", "1 x croissant ..... 1.90", "TOTAL 4.40"]
    commands: list[dict[str, Any]] = [{"type": "text", "data": {"content": {"text": line}}} for line in lines]
    commands.append({"type": "cut", "data": {"mode": "partial"}})
    return {"version": "1.0", "profile": {"model": "80mm EC-PM-80250"}, "commands": commands}


class _Broker:
    def __init__(self, root: Path) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.port = _free_port()
        conf = root / "mosquitto.conf"
        conf.write_text(
            f"user {getpass.getuser()}\nlistener {self.port} 127.0.0.1\nallow_anonymous true\n"
            "max_queued_messages 100000\n"
        )
        self.process = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + BROKER_START_TIMEOUT_S
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise RuntimeError("mosquitto did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


class _Cloud:
    """Publishes each shop's jobs closed-loop and records publish→result latencies."""

    def __init__(self, port: int, sites: list[str], jobs_per_shop: int) -> None:
        self.sites = sites
        self.jobs_per_shop = jobs_per_shop
        self.lock = threading.Condition()
        self.sent: dict[str, int] = dict.fromkeys(sites, 0)
        self.published_at: dict[str, float] = {}
        self.latencies_ms: list[float] = []
        self.failures = 0
        self.online: set[str] = set()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-cloud-{port}")
        self.client.on_message = self._on_message
        self.client.max_inflight_messages_set(1000)
        self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.subscribe([(f"{PREFIX}/+/replies", 1), (f"{PREFIX}/+/status", 1)])
        self.client.loop_start()

    def _publish_next(self, site: str) -> None:
        number = self.sent[site]
        if number >= self.jobs_per_shop:
            return
        self.sent[site] = number + 1
        job_id = f"{site}-{number}"
        self.published_at[job_id] = time.perf_counter()
        message = {"tipo": "ticket", "id": job_id, "datos": _receipt(site, number)}
        self.client.publish(f"{PREFIX}/{site}/jobs", json.dumps(message), qos=1)

    def start(self) -> None:
        with self.lock:
            for site in self.sites:
                for _ in range(WINDOW):
                    self._publish_next(site)

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        site, _, kind = message.topic.removeprefix(PREFIX + "/").rpartition("/")
        payload = json.loads(message.payload)
        with self.lock:
            if kind == "status":
                if payload.get("status") == "online":
                    self.online.add(site)
            elif payload.get("tipo") in ("result", "error") and payload.get("id") in self.published_at:
                started = self.published_at.pop(payload["id"])
                self.latencies_ms.append((time.perf_counter() - started) * 1000)
                self.failures += payload.get("status") != "success"
                self._publish_next(site)
            self.lock.notify_all()

    def wait(self, condition: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self.lock:
            while not condition():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self.lock.wait(remaining)
            return True

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


async def _spawn(root: Path, broker_port: int, sites: list[str]) -> list[DaemonProcess]:
    async def one(site: str) -> DaemonProcess:
        folder = root / site
        folder.mkdir()
        config = folder / "ticket-daemon.toml"
        config.write_text(
            "[server]\nrate_limit_per_minute = 0\nqueue_capacity = 10000\nlog_level = 'WARNING'\n"
            "[storage]\nspool = 'memory'\n"
            "[[printers]]\nname = 'till'\nuri = 'file:///dev/null'\n"
            f"[mqtt]\nurl = 'mqtt://127.0.0.1:{broker_port}'\nsite = '{site}'\ntopic_prefix = '{PREFIX}'\n"
        )
        return await DaemonProcess.spawn(folder / "data", config=config)

    results = await asyncio.gather(*(one(site) for site in sites), return_exceptions=True)
    daemons = [r for r in results if isinstance(r, DaemonProcess)]
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        await asyncio.gather(*(d.stop() for d in daemons))
        raise RuntimeError(f"{len(errors)} daemons did not start: {errors[0]}")
    return daemons


def run(report: Callable[[str, Stats], None]) -> None:
    for count in DAEMON_COUNTS:
        asyncio.run(_run_fleet(count, report))


async def _run_fleet(count: int, report: Callable[[str, Stats], None]) -> None:
    """One loop for the whole run: the daemons' subprocess transports belong to it (spawned, then stopped)."""
    sites = [f"shop{n:02d}" for n in range(count)]
    with tempfile.TemporaryDirectory(prefix="ticket-bench-fleet-") as tmp:
        root = Path(tmp)
        broker = _Broker(root)
        daemons: list[DaemonProcess] = []
        try:
            daemons = await _spawn(root, broker.port, sites)
            cloud, done, elapsed = await asyncio.to_thread(_load, broker.port, sites)
        finally:
            await asyncio.gather(*(daemon.stop() for daemon in daemons), return_exceptions=True)
            broker.stop()
    got, total = len(cloud.latencies_ms), JOBS_PER_SHOP * len(sites)
    print(
        f"  N = {len(sites)} daemons (file:///dev/null, memory spool) on one local mosquitto, "
        f"{JOBS_PER_SHOP} jobs per shop, {WINDOW} in flight per shop, QoS 1"
    )
    if not done:
        print(f"  only {got} of {total} results within {LOAD_TIMEOUT_S:.0f} s")
    latency = Stats(cloud.latencies_ms)
    report(f"publish -> result, N={len(sites)}", latency)
    print(
        f"  N={len(sites)}: {got / elapsed:.0f} jobs/s end to end ({got} results in {elapsed:.1f} s, "
        f"{cloud.failures} not printed); publish -> result p50 {latency.median:.1f} ms, p99 {latency.p99:.1f} ms"
    )


def _load(broker_port: int, sites: list[str]) -> tuple[_Cloud, bool, float]:
    """Warm-up (every shop online, a few jobs each), then the timed closed-loop load; blocking, bounded."""
    warm = _Cloud(broker_port, sites, WARMUP_PER_SHOP)
    try:
        if not warm.wait(lambda: warm.online >= set(sites), LOAD_TIMEOUT_S):
            raise RuntimeError("not every daemon said online")
        warm.start()
        warm.wait(lambda: len(warm.latencies_ms) >= WARMUP_PER_SHOP * len(sites), LOAD_TIMEOUT_S)
    finally:
        warm.close()
    cloud = _Cloud(broker_port, sites, JOBS_PER_SHOP)
    try:
        started = time.perf_counter()
        cloud.start()
        done = cloud.wait(lambda: len(cloud.latencies_ms) >= JOBS_PER_SHOP * len(sites), LOAD_TIMEOUT_S)
        return cloud, done, time.perf_counter() - started
    finally:
        cloud.close()
