"""One outbound MQTT session per daemon (docs/protocol.md "MQTT"): jobs in from ``P/jobs``, replies out on
``P/replies``, retained presence on ``P/status`` (last will: offline) and ``P/printers/<name>``.

The client is paho-mqtt (Eclipse). Its network loop runs on its own thread (``loop_start``), so a broker that is
slow or down never blocks the event loop: callbacks only hand events to the loop with ``call_soon_threadsafe``.
Messages are acknowledged by hand (``manual_ack_set(True)``): the PUBACK for a job goes out only after the shared
intake answered it, i.e. once the job is in the spool (or was refused), so a crash before that means redelivery,
and a redelivered id is a duplicate, never a second print. The session is persistent (clean session off), QoS 1 in
and out; jobs of the site are taken one at a time, in the order the broker delivered them, as ``/ws`` takes a
connection's messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from ..config import ConfigError, MqttSettings
from ..document.errors import TicketError
from . import intake_link
from .intake_link import DaemonLink, Message
from .link import LinkState, LinkStatus
from .topics import BrokerAddress, SiteTopics, owner_of, parse_broker_url

log = logging.getLogger(__name__)

QOS = 1  # docs/protocol.md "MQTT": QoS 1 in and out
# Reconnect backoff: 1, 2, 4 … seconds up to this, each drawn at random between half and all of it, so a broker
# that comes back is not hit by every shop in the same second.
RECONNECT_MAX_SECONDS = 60
# Replies queued in the client while the broker is unreachable (each a few hundred bytes); beyond it a result stays
# undelivered in the spool and is sent again when the session attaches after the next start.
MAX_QUEUED_REPLIES = 10_000
# A job message bigger than this is refused (the same bound as a WebSocket frame, ``server.max_frame_bytes``).
# How often printer states are checked for the retained topics (a change is published, not every check).
STATUS_INTERVAL_SECONDS = 15.0
# Bounds on stopping: the job being taken in may finish its intake; the offline status gets this long to leave.
PAUSE_SECONDS = 10.0
CLOSE_SECONDS = 3.0
OFFLINE = {"status": "offline"}


@dataclass(frozen=True, slots=True)
class _Incoming:
    mid: int
    qos: int
    payload: bytes
    connection: int  # which connection delivered it: a PUBACK is only meaningful on that one


class MqttSession:
    def __init__(self, settings: MqttSettings, link: DaemonLink, *, max_message_bytes: int) -> None:
        try:
            self.address: BrokerAddress = parse_broker_url(settings.url)
        except TicketError as error:
            raise ConfigError(error.message, kind="VALIDATION") from None
        self.site = settings.site
        self.topics = SiteTopics.of(settings.topic_prefix, settings.site)
        self.owner = owner_of(settings.site)
        self.client_id = settings.client_id or f"ticket-daemon-{settings.site}"
        self.status = LinkStatus()
        self._settings = settings
        self._link = link
        self._max_message_bytes = max_message_bytes
        self._client = self._make_client(settings)
        self._connection = 0  # bumped on every CONNACK; read by the loop, written by the network thread
        self._failures = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._incoming: asyncio.Queue[_Incoming] = asyncio.Queue()
        self._results_in_flight: dict[int, str] = {}  # publish mid → id of the job whose result it carries
        self._announce_now = asyncio.Event()
        self._announced: dict[str, object] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._taking_jobs = False
        self._idle = asyncio.Event()  # set while no job is being taken in
        self._idle.set()
        self._attached = False

    # --- set-up --------------------------------------------------------------------------------------------------

    def _make_client(self, settings: MqttSettings) -> paho.Client:
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            clean_session=False,  # persistent session: jobs published while we are away wait at the broker
            protocol=MQTTProtocolVersion.MQTTv311,
            reconnect_on_failure=True,
        )
        client.manual_ack_set(True)
        client.max_queued_messages_set(MAX_QUEUED_REPLIES)
        client.reconnect_delay_set(1, RECONNECT_MAX_SECONDS)
        if settings.username:
            client.username_pw_set(settings.username, settings.password.get_secret_value() or None)
        if self.address.tls:
            try:
                client.tls_set(
                    ca_certs=str(settings.ca_file) if settings.ca_file else None,
                    certfile=str(settings.cert_file) if settings.cert_file else None,
                    keyfile=str(settings.key_file) if settings.key_file else None,
                    cert_reqs=ssl.CERT_REQUIRED,
                )
            except (OSError, ssl.SSLError, ValueError) as error:
                raise ConfigError(f"mqtt TLS files cannot be used: {error}") from None
        # docs/protocol.md: the last will says offline, retained, when the broker loses us without a goodbye.
        client.will_set(self.topics.status, _json(OFFLINE), qos=QOS, retain=True)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_publish = self._on_publish
        return client

    # --- life-cycle (event loop) -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Begin connecting in the background (never waits for the broker) and take jobs once connected."""
        self._loop = asyncio.get_running_loop()
        await self._link.attach(self.owner, self)  # results owed to the site go out as soon as we connect
        self._attached = True
        self._taking_jobs = True
        self._tasks = [
            asyncio.create_task(self._take_jobs(), name="mqtt-jobs"),
            asyncio.create_task(self._announce_periodically(), name="mqtt-status"),
        ]
        log.info("mqtt: connecting to %s as %s (site %s)", self.address, self.client_id, self.site)
        self._client.connect_async(self.address.host, self.address.port, keepalive=self._settings.keepalive)
        self._client.loop_start()

    async def stop_taking_jobs(self) -> None:
        """First step of a stop: jobs not yet taken in stay unacknowledged at the broker (redelivered after the
        restart); the one being taken in may finish its intake."""
        self._taking_jobs = False
        if self._tasks:
            jobs = self._tasks[0]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), timeout=PAUSE_SECONDS)
            jobs.cancel()
            await asyncio.gather(jobs, return_exceptions=True)

    async def close(self) -> None:
        """Last step of a stop (after the daemon drained): say offline, leave the broker, end the network thread."""
        await self.stop_taking_jobs()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._attached:
            self._link.detach(self.owner, self)
            self._attached = False
        if self.status.snapshot().state is LinkState.CONNECTED:
            info = self._client.publish(self.topics.status, _json(OFFLINE), qos=QOS, retain=True)
            with contextlib.suppress(RuntimeError, ValueError):
                await asyncio.to_thread(info.wait_for_publish, CLOSE_SECONDS)
        self._client.disconnect()
        await asyncio.to_thread(self._client.loop_stop)
        log.info("mqtt: session with %s closed", self.address)

    def report(self) -> dict[str, object]:
        """``/health`` "mqtt": the link's state and last error (never credentials)."""
        snapshot = self.status.snapshot()
        report = snapshot.as_dict(broker=str(self.address), site=self.site)
        report["client_id"] = self.client_id
        return report

    # --- jobs in (event loop) ------------------------------------------------------------------------------------

    async def _take_jobs(self) -> None:
        while self._taking_jobs:
            incoming = await self._incoming.get()
            if not self._taking_jobs:
                return  # left unacknowledged: the broker delivers it again to the next session
            self._idle.clear()
            try:
                await self._take(incoming)
            except Exception:
                # A bug must not make a message come back forever: answer it and acknowledge it.
                log.exception("mqtt: a job message could not be handled")
                self.send(intake_link.refusal(intake_link.INTERNAL_ERROR, intake_link.id_of_payload(incoming.payload)))
            finally:
                self._idle.set()
            self._acknowledge(incoming)

    async def _take(self, incoming: _Incoming) -> None:
        """docs/protocol.md "MQTT": the payload is a protocol-v1 ``ticket``; anything else is answered with ``error``
        on ``P/replies`` (with its id when readable) and acknowledged."""
        if len(incoming.payload) > self._max_message_bytes:
            self.send(intake_link.refusal(f"JSON: message too big (over {self._max_message_bytes} bytes)", None))
            return
        ticket = await intake_link.read_ticket(incoming.payload)
        if isinstance(ticket, intake_link.Refusal):
            self.send(ticket.reply())
            return
        await self._link.submit(ticket, self.owner, self)

    def _acknowledge(self, incoming: _Incoming) -> None:
        """PUBACK, on the connection that delivered the message. After a reconnect the broker delivers it again
        (persistent session) and that copy is acknowledged instead (the intake answers it as a duplicate)."""
        if incoming.qos > 0 and incoming.connection == self._connection:
            self._client.ack(incoming.mid, incoming.qos)

    # --- replies and presence out (event loop) -------------------------------------------------------------------

    def send(self, message: Message) -> bool:
        """The site's sink: every reply to its jobs, on ``P/replies`` at QoS 1, queued in the client while the
        broker is away."""
        return self._publish_reply(message) is not None

    def result(self, job_id: str, message: Message) -> bool:
        """A job's result, sent like any reply; it counts as delivered once the broker acknowledged it."""
        mid = self._publish_reply(message)
        if mid is None:
            return False
        self._results_in_flight[mid] = job_id
        return True

    def _publish_reply(self, message: Message) -> int | None:
        info = self._client.publish(self.topics.replies, intake_link.encode(message), qos=QOS)
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            log.warning("mqtt: reply for job %s not queued: %s", message.get("id", "-"), paho.error_string(info.rc))
            return None
        return info.mid

    def _published(self, mid: int) -> None:
        job_id = self._results_in_flight.pop(mid, None)
        if job_id is not None:
            self._link.result_delivered(self.owner, job_id)

    async def _announce_periodically(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._announce_now.wait(), timeout=STATUS_INTERVAL_SECONDS)
            forced = self._announce_now.is_set()
            self._announce_now.clear()
            if self.status.snapshot().state is not LinkState.CONNECTED:
                continue
            try:
                await self._announce(forced=forced)
            except Exception:
                log.exception("mqtt: publishing the status failed")

    async def _announce(self, *, forced: bool) -> None:
        """Retained ``P/status`` (online, version, each printer's state) and ``P/printers/<name>`` (its
        PrinterDetail); published on every connect and whenever a printer's state changed."""
        details = await self._link.printers()
        status: dict[str, object] = {
            "status": "online",
            "version": self._link.version,
            "printers": {str(detail["name"]): detail["status"] for detail in details},
        }
        if not forced and status == self._announced:
            return
        self._announced = status
        for detail in details:
            self._client.publish(self.topics.printer(str(detail["name"])), _json(detail), qos=QOS, retain=True)
        self._client.publish(self.topics.status, _json(status), qos=QOS, retain=True)

    # --- paho callbacks (network thread): record, then hand over to the event loop --------------------------------

    def _on_connect(self, client: paho.Client, userdata: Any, flags: Any, reason: ReasonCode, properties: Any) -> None:
        if reason.is_failure:
            self._note_failure(f"EXECUTION: the broker at {self.address} refused the session: {reason}")
            return
        self._failures = 0
        client.reconnect_delay_set(1, RECONNECT_MAX_SECONDS)
        self._connection += 1
        self.status.connected()
        log.info("mqtt: connected to %s (site %s)", self.address, self.site)
        client.subscribe(self.topics.jobs, qos=QOS)
        self._call_soon(self._announce_now.set)

    def _on_connect_fail(self, client: paho.Client, userdata: Any) -> None:
        self._note_failure(f"EXECUTION: cannot connect to the broker at {self.address}; retrying")

    def _on_disconnect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: ReasonCode, properties: Any
    ) -> None:
        if not reason.is_failure:  # our own disconnect() on stop
            return
        state = self.status.lost(f"EXECUTION: lost the broker at {self.address}: {reason}; reconnecting")
        if state is LinkState.CONNECTING:
            log.warning("mqtt: lost the broker at %s (%s); reconnecting", self.address, reason)
        self._back_off(client)

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        incoming = _Incoming(message.mid, message.qos, bytes(message.payload), self._connection)
        self._call_soon(self._incoming.put_nowait, incoming)

    def _on_publish(self, client: paho.Client, userdata: Any, mid: int, reason: Any, properties: Any) -> None:
        self._call_soon(self._published, mid)

    def _note_failure(self, sentence: str) -> None:
        first = self.status.snapshot().state is not LinkState.DOWN
        self.status.failed(sentence)
        if first:  # one line per outage, not one per retry
            log.warning("mqtt: %s", sentence)
        self._back_off(self._client)

    def _back_off(self, client: paho.Client) -> None:
        """The next reconnect waits 1, 2, 4 … s (capped), jittered (paho waits ``min_delay`` after a reset)."""
        self._failures += 1
        ceiling = min(RECONNECT_MAX_SECONDS, 2 ** min(self._failures - 1, 10))
        delay = random.randint(max(1, ceiling // 2), ceiling)
        client.reconnect_delay_set(delay, max(delay, RECONNECT_MAX_SECONDS))

    def _call_soon(self, callback: Any, *args: Any) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop is closing: the broker redelivers what we missed
                loop.call_soon_threadsafe(callback, *args)


def _json(value: Mapping[str, object]) -> bytes:
    return intake_link.encode(value)


def session_for(
    mqtt: MqttSettings, daemon: intake_link.PrintSpool, *, rate_limit: intake_link.RateLimit, max_message_bytes: int
) -> MqttSession | None:
    """The daemon's broker session when ``[mqtt] url`` is set, else None. Raises ``ConfigError`` for a bad URL or
    unusable TLS files (the daemon does not start half-configured)."""
    if not mqtt.url:
        return None
    return MqttSession(mqtt, DaemonLink(daemon, rate_limit), max_message_bytes=max_message_bytes)
