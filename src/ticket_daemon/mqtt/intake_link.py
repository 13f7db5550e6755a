"""The one place where the MQTT front door touches the daemon: the shared intake (the checks before ``ack``, the
same as ``/ws``), result routing for the site's client, printer states and the protocol's message shapes.

Every import of the daemon's internals by ``mqtt/`` is here, so moving the intake (e.g. to ``spool/``) means
repointing these few lines and nothing else in this package.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .. import __version__
from ..server import protocol
from ..server.daemon import Daemon
from ..server.intake import Submitter, job_id_of, submit_ticket

__all__ = ["Daemon", "DaemonLink", "Message", "ReplySink", "job_id_of"]

Message = dict[str, Any]
# Where replies to the site's jobs go; False when one could not be queued (the result stays undelivered and is sent
# again when the session attaches next time).
ReplySink = Callable[[Message], bool]

# The address recorded for jobs that came through the broker (the intake logs and audits it).
MQTT_ADDRESS = "mqtt"


class DaemonLink:
    """What the MQTT session needs from the daemon, and nothing more."""

    def __init__(self, daemon: Daemon) -> None:
        self._daemon = daemon

    @property
    def version(self) -> str:
        return __version__

    async def submit(self, message: Mapping[str, Any], owner: str, sink: ReplySink) -> None:
        """Run a ``ticket`` through the shared intake; its replies (ack/error now, result later) go to ``sink``.
        Returns once the job is in the spool (acked) or refused: the caller may then acknowledge it to the broker."""
        await submit_ticket(self._daemon, message, Submitter(address=MQTT_ADDRESS, client_id=owner, sink=sink))

    async def attach(self, owner: str, sink: ReplySink) -> None:
        """Results of ``owner``'s jobs go to ``sink`` from now on; those that finished unseen are sent now."""
        await self._daemon.attach_client(owner, sink)

    def detach(self, owner: str, sink: ReplySink) -> None:
        self._daemon.detach_client(owner, sink)

    def result_delivered(self, job_id: str) -> None:
        """The broker took the job's ``result``: it is not re-sent on the next attach."""
        self._daemon.result_written(job_id)

    async def printers(self) -> list[dict[str, object]]:
        """PROTOCOL.md PrinterDetail of each configured printer, with its live state."""
        details, _ = await self._daemon.printers_report(discover=False)
        return details

    @property
    def accepting(self) -> bool:
        return self._daemon.accepting


def refusal(text: str, job_id: str | None) -> Message:
    """A protocol ``error`` reply (PROTOCOL.md "Server → client")."""
    return protocol.error(text, job_id)


def not_an_object(value: object) -> str:
    return protocol.NOT_AN_OBJECT.format(got=protocol.json_type(value))


def unknown_type(tipo: str) -> str:
    return protocol.UNKNOWN_TYPE.format(tipo=tipo[:100])


TIPO_REQUIRED = protocol.TIPO_REQUIRED
INTERNAL_ERROR = protocol.INTERNAL_ERROR


def encode(message: Message) -> bytes:
    return protocol.encode(message).encode()
