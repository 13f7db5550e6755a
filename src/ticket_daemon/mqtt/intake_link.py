"""The one place where the MQTT front door touches the daemon: the shared intake (the checks before ``ack``, the
same as ``/ws``), result routing for the site's client, printer states and the protocol's message shapes.

Every use of the spool by ``mqtt/`` is here. The MQTT front door is on the same floor as ``server/`` and never
imports it: what it needs from the process around it (the rate limit of the site's "connection") is handed in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .. import __version__
from ..spool import protocol
from ..spool.facade import PrintSpool
from ..spool.intake import RateLimit, Submitter, job_id_of, submit_ticket

__all__ = ["DaemonLink", "Message", "PrintSpool", "RateLimit", "ReplySink", "job_id_of"]

Message = dict[str, Any]
# Where replies to the site's jobs go; False when one could not be queued (the result stays undelivered and is sent
# again when the session attaches next time).
ReplySink = Callable[[Message], bool]

# The address recorded for jobs that came through the broker (the intake logs and audits it).
MQTT_ADDRESS = "mqtt"


class DaemonLink:
    """What the MQTT session needs from the daemon, and nothing more."""

    def __init__(self, daemon: PrintSpool, rate_limit: RateLimit) -> None:
        self._daemon = daemon
        self._rate_limit = rate_limit  # the site's budget: one "connection" under the daemon's ceilings

    @property
    def version(self) -> str:
        return __version__

    async def submit(self, message: Mapping[str, Any], owner: str, sink: ReplySink) -> None:
        """Run a ``ticket`` through the shared intake; its replies (ack/error now, result later) go to ``sink``.
        Returns once the job is in the spool (acked) or refused: the caller may then acknowledge it to the broker."""
        submitter = Submitter(address=MQTT_ADDRESS, client_id=owner, sink=sink, rate_limit=self._rate_limit)
        await submit_ticket(self._daemon, message, submitter)

    async def attach(self, owner: str, sink: ReplySink) -> None:
        """Results of ``owner``'s jobs go to ``sink`` from now on; those that finished unseen are sent now."""
        await self._daemon.results.attach(owner, sink)

    def detach(self, owner: str, sink: ReplySink) -> None:
        self._daemon.results.detach(owner, sink)

    def result_delivered(self, owner: str, job_id: str) -> None:
        """The broker took the ``result`` of ``owner``'s job ``job_id``: it is not re-sent on the next attach."""
        self._daemon.results.written(owner, job_id)

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
    return str(protocol.NOT_AN_OBJECT.format(got=protocol.json_type(value)))


def unknown_type(tipo: str) -> str:
    return str(protocol.UNKNOWN_TYPE.format(tipo=tipo[:100]))


TIPO_REQUIRED = protocol.TIPO_REQUIRED
INTERNAL_ERROR = protocol.INTERNAL_ERROR


def encode(message: Message) -> bytes:
    return str(protocol.encode(message)).encode()
