"""The fleet door (docs/protocol.md "MQTT"): one outbound broker session per daemon, the same service as ``/ws``."""

from .link import LinkState
from .session import MqttSession, session_for
from .topics import BrokerAddress, SiteTopics, owner_of, parse_broker_url

__all__ = ["BrokerAddress", "LinkState", "MqttSession", "SiteTopics", "owner_of", "parse_broker_url", "session_for"]
