"""Python clients of ticket-daemon: :class:`TicketClient` / :class:`AsyncTicketClient` for a local daemon over
WebSocket, :class:`FleetClient` for a fleet of daemons through an MQTT broker."""

from .fleet import FleetClient
from .local import AsyncTicketClient, TicketClient, Unreachable
from .result import PrintResult

__all__ = ["AsyncTicketClient", "FleetClient", "PrintResult", "TicketClient", "Unreachable"]
