"""A sink that keeps what it was sent, in order: a connection's outbox as the service and the result router see it.

Tests import it as ``from spool.outbox import Outbox`` (``tests`` is on the path)."""

from __future__ import annotations

from typing import Any

Message = dict[str, Any]


class Outbox(list[Message]):
    """Every message sent to this sink, results included (``result`` is told which job's result it carries)."""

    def send(self, message: Message, /) -> bool:
        self.append(message)
        return True

    def result(self, job_id: str, message: Message, /) -> bool:
        self.append(message)
        return True
