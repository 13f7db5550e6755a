"""A real Mosquitto for the tests: ``mosquitto -c <conf>`` on a free 127.0.0.1 port, persistence in a tmp dir, and
a cloud-side observer (paho) that records what the daemons publish. Every wait is bounded."""

from __future__ import annotations

import getpass
import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
WAIT_S = 15.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(condition: Callable[[], object], what: str, timeout: float = WAIT_S) -> None:
    """Poll until ``condition()`` is truthy (a found reply, a true test), failing after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


class Mosquitto:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.data = root / "mosquitto"
        self.data.mkdir(parents=True, exist_ok=True)
        self.conf = root / "mosquitto.conf"
        self.conf.write_text(
            # Started as root, mosquitto would switch to the "mosquitto" user, who cannot write this tmp dir.
            f"user {getpass.getuser()}\n"
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            f"persistence_location {self.data}/\nautosave_interval 1\nmax_queued_messages 10000\n"
        )
        self.log = root / "mosquitto.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("a") as log:
            self.process = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)], stdout=log, stderr=subprocess.STDOUT)
        wait_for(self._listening, "mosquitto to listen")

    def _listening(self) -> bool:
        assert self.process is not None and self.process.poll() is None, self.log.read_text()
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        """SIGTERM: mosquitto saves its persistence file (sessions, queued messages) before exiting."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def restart(self) -> None:
        self.stop()
        self.start()


class Cloud:
    """The cloud POS side: publishes jobs, records every reply and the retained status/printer topics."""

    def __init__(self, broker: Mosquitto, prefix: str = "ticket-daemon", *, persistent: bool = False) -> None:
        self.prefix = prefix
        self.lock = threading.Lock()
        self.replies: list[tuple[str, dict[str, Any]]] = []  # (site, reply)
        self.retained: dict[str, Any] = {}  # topic → last payload (status, printers)
        self.connected = threading.Event()
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=f"cloud-{free_port()}", clean_session=not persistent
        )
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(1, 1)
        self.client.connect_async("127.0.0.1", broker.port, keepalive=10)
        self.client.loop_start()
        assert self.connected.wait(WAIT_S), "the cloud client did not connect"

    def _on_connect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        client.subscribe([(f"{self.prefix}/+/replies", 1), (f"{self.prefix}/+/status", 1),
                          (f"{self.prefix}/+/printers/+", 1)])  # fmt: skip
        self.connected.set()

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        try:
            payload = json.loads(message.payload)
        except ValueError:
            payload = message.payload
        site = message.topic.split("/")[1]
        with self.lock:
            if message.topic.endswith("/replies"):
                self.replies.append((site, payload))
            else:
                self.retained[message.topic] = payload

    def publish(self, site: str, message: dict[str, Any] | str | bytes) -> None:
        payload = json.dumps(message) if isinstance(message, dict) else message
        wait_for(self.client.is_connected, "the cloud client to be connected")
        info = self.client.publish(f"{self.prefix}/{site}/jobs", payload, qos=1)
        info.wait_for_publish(WAIT_S)

    def replies_of(self, site: str, job_id: str | None = None, tipo: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [
                reply
                for s, reply in self.replies
                if s == site and job_id in (None, reply.get("id")) and tipo in (None, reply.get("tipo"))
            ]

    def status_of(self, site: str) -> Any:
        with self.lock:
            return self.retained.get(f"{self.prefix}/{site}/status")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
