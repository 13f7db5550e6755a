"""A cloud backend's client of a fleet of daemons through an MQTT broker (docs/protocol.md "MQTT"), with paho-mqtt.

``FleetClient("mqtt://broker:1883").print("store-12", document, id="order-881")`` publishes the ticket on
``<prefix>/store-12/jobs`` at QoS 1 and waits for its ``result`` (or refusal) on ``<prefix>/store-12/replies``;
``presence("store-12")`` reads the retained ``<prefix>/store-12/status`` ("online", or "offline" from the daemon's
last will). The id is what makes delivery safe: the broker may deliver a job twice, the daemon prints it once.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from ..mqtt.topics import SiteTopics, parse_broker_url
from .local import Unreachable
from .result import PrintResult, decode, final_reply, ticket_message

DEFAULT_PREFIX = "ticket-daemon"
CONNECT_TIMEOUT_SECONDS = 10.0
# Replies kept for ids nobody waits for (another caller's, or ones that arrived after a timeout): bounded.
MAX_UNCLAIMED_REPLIES = 10_000


class FleetClient:
    def __init__(
        self,
        url: str,
        *,
        topic_prefix: str = DEFAULT_PREFIX,
        username: str | None = None,
        password: str | None = None,
        client_id: str | None = None,
        ca_file: str | Path | None = None,
        connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
    ) -> None:
        self.address = parse_broker_url(url)
        self.topic_prefix = topic_prefix.rstrip("/")
        self._lock = threading.Condition()
        self._finals: dict[str, PrintResult] = {}  # job id → its result or refusal
        self._presence: dict[str, str] = {}  # site → last retained status
        self._connected = False
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"fleet-client-{uuid.uuid4().hex[:12]}",
            protocol=MQTTProtocolVersion.MQTTv311,
        )
        if username:
            self._client.username_pw_set(username, password)
        if self.address.tls:
            self._client.tls_set(ca_certs=str(ca_file) if ca_file else None, cert_reqs=ssl.CERT_REQUIRED)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.connect_async(self.address.host, self.address.port, keepalive=30)
        self._client.loop_start()
        if not self._wait(lambda: self._connected, connect_timeout):
            self.close()
            raise Unreachable(f"EXECUTION: cannot connect to the broker at {self.address}")

    def __enter__(self) -> FleetClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def print(
        self,
        site: str,
        document: Mapping[str, Any],
        id: str | None = None,
        printer: str | None = None,
        auth_token: str | None = None,
        timeout: float = 60.0,
    ) -> PrintResult:
        """Publish a ticket to ``site`` and wait for its result (or its refusal) from that site's daemon."""
        message = ticket_message(document, job_id=id, printer=printer, auth_token=auth_token)
        job_id = str(message["id"])
        self.send(site, message)
        if not self._wait(lambda: job_id in self._finals, timeout):
            raise Unreachable(f"EXECUTION: no result from site {site!r} within {timeout:g} s")
        with self._lock:
            return self._finals.pop(job_id)

    def send(self, site: str, message: Mapping[str, Any]) -> None:
        """Publish any job message to ``site`` at QoS 1 without waiting (``wait_result`` collects the answer)."""
        self._client.publish(SiteTopics.of(self.topic_prefix, site).jobs, json.dumps(message), qos=1)

    def wait_result(self, job_id: str, timeout: float) -> PrintResult | None:
        if not self._wait(lambda: job_id in self._finals, timeout):
            return None
        with self._lock:
            return self._finals.pop(job_id)

    def presence(self, site: str, timeout: float = 5.0) -> str:
        """``online`` or ``offline`` as the site's retained status says; ``unknown`` when it never published one."""
        self._wait(lambda: site in self._presence, timeout)
        with self._lock:
            return self._presence.get(site, "unknown")

    # --- paho callbacks (network thread) ---------------------------------------------------------------------------

    def _on_connect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if reason.is_failure:
            return
        client.subscribe([(f"{self.topic_prefix}/+/replies", 1), (f"{self.topic_prefix}/+/status", 1)])
        with self._lock:
            self._connected = True
            self._lock.notify_all()

    def _on_disconnect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        with self._lock:
            self._connected = False

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        site, _, kind = message.topic.removeprefix(self.topic_prefix + "/").rpartition("/")
        payload = decode(bytes(message.payload))
        if payload is None:
            return
        with self._lock:
            if kind == "status":
                self._presence[site] = str(payload.get("status", "unknown"))
            elif kind == "replies" and isinstance(payload.get("id"), str):
                final = final_reply(payload, payload["id"])
                if final is not None:
                    if len(self._finals) >= MAX_UNCLAIMED_REPLIES:
                        self._finals.pop(next(iter(self._finals)))
                    self._finals[final.id] = final
            self._lock.notify_all()

    def _wait(self, condition: Any, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._lock:
            while not condition():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._lock.wait(remaining)
            return True
