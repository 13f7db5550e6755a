"""What ``serve`` refuses to start with beyond the settings schema, in one function that ``serve`` and
``config check`` both call, so the check can never say OK to a file the daemon then refuses.

Checked without starting anything: the printers (URIs, names, paper), the ``[mqtt]`` broker URL and its TLS files,
and the server's own TLS certificate and key. Each refusal is one :class:`~ticket_daemon.config.ConfigError`.
"""

from __future__ import annotations

import ssl

from ..config import ConfigError, MqttSettings, ServerSettings, Settings
from ..document.errors import TicketError
from ..printers.registry import PrinterRegistry


def check_startable(settings: Settings) -> None:
    """Raise :class:`ConfigError` for anything in ``settings`` that ``serve`` would refuse."""
    PrinterRegistry.from_settings(settings.printers)
    _check_broker(settings.mqtt)
    _check_server_tls(settings.server)


def _check_broker(mqtt: MqttSettings) -> None:
    if not mqtt.url:
        return
    from ..mqtt.topics import parse_broker_url  # the fleet door's package, loaded only where a broker is set

    try:
        address = parse_broker_url(mqtt.url)
    except TicketError as error:
        raise ConfigError(error.message, kind="VALIDATION") from None
    if not address.tls:
        return
    # The same files the broker session loads (mqtt/session.py, paho's tls_set), loaded the same way.
    try:
        context = ssl.create_default_context(cafile=str(mqtt.ca_file) if mqtt.ca_file else None)
        if mqtt.cert_file:
            context.load_cert_chain(str(mqtt.cert_file), str(mqtt.key_file) if mqtt.key_file else None)
    except (OSError, ssl.SSLError, ValueError) as error:
        raise ConfigError(f"mqtt TLS files cannot be used: {error}") from None


def _check_server_tls(server: ServerSettings) -> None:
    if server.tls_cert is None or server.tls_key is None:
        return
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(str(server.tls_cert), str(server.tls_key))
    except (OSError, ssl.SSLError, ValueError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise ConfigError(
            f"server.tls_cert / server.tls_key cannot be used ({reason}): make them with `ticket-daemon tls init`"
        ) from None
