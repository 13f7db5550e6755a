"""The one place where the MQTT door touches the daemon: the protocol (reading a payload into a ticket, the reply
messages) and the service (the checks before ``ack``, the same as ``/ws``), result routing for the site's client
and printer states.

Every use of the spool and the protocol by ``mqtt/`` is here. The MQTT door is on the same floor as ``server/`` and
never imports it: what it needs from the process around it (the rate limit of the site's "connection") is handed in.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from .. import __version__
from ..protocol import messages, requests
from ..protocol.connection import ClientIdentity
from ..protocol.requests import Refusal, Ticket
from ..spool import service
from ..spool.facade import PrintSpool
from ..spool.intake import RateLimit, Submitter
from ..spool.results import ResultSink

__all__ = ["DaemonLink", "Message", "PrintSpool", "RateLimit", "Refusal", "ResultSink", "Ticket"]

Message = dict[str, Any]

# The address recorded for jobs that came through the broker (the intake logs and audits it).
MQTT_ADDRESS = "mqtt"
# Payloads bigger than this are read in a worker thread, as ``/ws`` reads big frames.
INLINE_JSON_BYTES = 64 * 1024


class DaemonLink:
    """What the MQTT session needs from the daemon, and nothing more."""

    def __init__(self, daemon: PrintSpool, rate_limit: RateLimit) -> None:
        self._daemon = daemon
        self._rate_limit = rate_limit  # the site's budget: one "connection" under the daemon's ceilings

    @property
    def version(self) -> str:
        return __version__

    async def submit(self, ticket: Ticket, owner: str, sink: ResultSink) -> None:
        """Hand a ``ticket`` to the service; its replies (ack/error now, result later) go to ``sink``. Returns once
        the job is in the spool (acked) or refused: the caller may then acknowledge it to the broker."""
        submitter = Submitter(ClientIdentity(MQTT_ADDRESS, owner), sink, self._rate_limit)
        await service.serve(self._daemon, ticket, submitter)

    async def attach(self, owner: str, sink: ResultSink) -> None:
        """Results of ``owner``'s jobs go to ``sink`` from now on; those that finished unseen are sent now."""
        await self._daemon.results.attach(owner, sink)

    def detach(self, owner: str, sink: ResultSink) -> None:
        self._daemon.results.detach(owner, sink)

    def result_delivered(self, owner: str, job_id: str) -> None:
        """The broker took the ``result`` of ``owner``'s job ``job_id``: it is not re-sent on the next attach."""
        self._daemon.results.written(owner, job_id)

    async def printers(self) -> list[dict[str, object]]:
        """docs/protocol.md PrinterDetail of each configured printer, with its live state."""
        details, _ = await self._daemon.printers_report(discover=False)
        return details

    @property
    def accepting(self) -> bool:
        return self._daemon.accepting


async def read_ticket(payload: bytes) -> Ticket | Refusal:
    """docs/protocol.md "MQTT": a payload is a protocol-v1 ``ticket``; anything else is refused (with its id when
    readable). Big payloads are read off the event loop."""
    if len(payload) > INLINE_JSON_BYTES:
        return await asyncio.to_thread(requests.read_ticket, payload)
    return requests.read_ticket(payload)


def id_of_payload(payload: bytes) -> str | None:
    return requests.id_of_frame(payload)


def refusal(text: str, job_id: str | None) -> Message:
    """A protocol ``error`` reply (docs/protocol.md "Server → client")."""
    return messages.error(text, job_id)


INTERNAL_ERROR = messages.INTERNAL_ERROR


def encode(message: Mapping[str, object]) -> bytes:
    return messages.encode(message).encode()
