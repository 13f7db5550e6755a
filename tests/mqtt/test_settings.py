"""``[mqtt]`` settings and broker addresses: mistakes are one clear line, credentials never in a URL or a message."""

from __future__ import annotations

import pytest

from ticket_daemon.config import ConfigError, load_settings
from ticket_daemon.document.errors import TicketError
from ticket_daemon.mqtt import SiteTopics, parse_broker_url


def test_broker_urls_name_host_port_and_tls() -> None:
    assert str(parse_broker_url("mqtt://broker.lan")) == "mqtt://broker.lan:1883"
    assert str(parse_broker_url("mqtts://broker.lan")) == "mqtts://broker.lan:8883"
    assert parse_broker_url("mqtts://10.0.0.2:9999").tls


@pytest.mark.parametrize("url", ["http://broker:1883", "broker:1883", "mqtt://", "mqtt://host:99999"])
def test_a_wrong_broker_url_is_a_validation_error(url: str) -> None:
    with pytest.raises(TicketError, match=r"^VALIDATION: mqtt\.url"):
        parse_broker_url(url)


def test_credentials_in_the_url_are_refused_without_echoing_them() -> None:
    with pytest.raises(TicketError) as refused:
        parse_broker_url("mqtt://shop:hunter22@broker:1883")
    assert "hunter22" not in str(refused.value)
    assert str(refused.value).startswith("VALIDATION: mqtt.url must not contain a user name or password")


def test_a_url_without_a_site_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match=r"mqtt\.site is required"):
        load_settings(None, {"mqtt": {"url": "mqtt://127.0.0.1:1883"}})


def test_a_bad_password_value_is_never_echoed() -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(None, {"mqtt": {"password": 987654321}})
    assert "987654321" not in str(refused.value) and "mqtt.password" in str(refused.value)


def test_site_topics_follow_the_protocol_table() -> None:
    topics = SiteTopics.of("ticket-daemon", "store-12")
    assert (topics.jobs, topics.replies, topics.status) == (
        "ticket-daemon/store-12/jobs",
        "ticket-daemon/store-12/replies",
        "ticket-daemon/store-12/status",
    )
    assert topics.printer("bar/#1") == "ticket-daemon/store-12/printers/bar__1"
