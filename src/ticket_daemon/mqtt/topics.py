"""Where a daemon meets the broker: the broker address from ``[mqtt] url`` and the topics of docs/protocol.md "MQTT".

Pure: no sockets, no clocks. ``P = <topic_prefix>/<site>``; every topic of one shop lives under ``P``, so a broker
(or a cluster) routes each shop's jobs to exactly one daemon without shared subscriptions.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from ..document.errors import Category, TicketError

DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int
    tls: bool

    def __str__(self) -> str:  # shown in /health and logs: never carries credentials
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


def parse_broker_url(url: str) -> BrokerAddress:
    """``mqtt://host[:1883]`` or ``mqtts://host[:8883]``. Credentials in the URL are refused (they would end up in
    logs and /health): they belong in ``[mqtt] username``/``password``."""
    parts = urlsplit(url.strip())
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise TicketError("mqtt.url must look like mqtt://host:1883 or mqtts://host:8883", category=Category.VALIDATION)
    if parts.username is not None or parts.password is not None:
        raise TicketError(
            "mqtt.url must not contain a user name or password: set mqtt.username and mqtt.password",
            category=Category.VALIDATION,
        )
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError:
        raise TicketError("mqtt.url has an invalid port", category=Category.VALIDATION) from None
    return BrokerAddress(parts.hostname, port, parts.scheme == "mqtts")


@dataclass(frozen=True, slots=True)
class SiteTopics:
    """The topics of one shop (docs/protocol.md "MQTT" table)."""

    prefix: str  # P = <topic_prefix>/<site>

    @classmethod
    def of(cls, topic_prefix: str, site: str) -> SiteTopics:
        return cls(f"{topic_prefix.rstrip('/')}/{site}")

    @property
    def jobs(self) -> str:  # cloud POS → daemon, QoS 1
        return f"{self.prefix}/jobs"

    @property
    def replies(self) -> str:  # daemon → cloud POS: ack, error, job (waiting), result; QoS 1
        return f"{self.prefix}/replies"

    @property
    def status(self) -> str:  # retained presence; the last will says offline
        return f"{self.prefix}/status"

    def printer(self, name: str) -> str:  # retained state of one printer
        # "+", "#" and "/" have meaning in topics; a printer name is configuration, so only made safe here.
        safe = "".join("_" if char in "+#/" else char for char in name)
        return f"{self.prefix}/printers/{safe}"


def owner_of(site: str) -> str:
    """The client a site's jobs belong to (their ids are scoped to it, its results are re-sent to it). A ``/``
    cannot appear in a WebSocket ``?client_id`` (the server replaces it), so no local client can claim this owner
    and collect the site's results."""
    return f"mqtt/{site}"
