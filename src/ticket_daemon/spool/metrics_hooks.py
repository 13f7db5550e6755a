"""The points of a job's life a metrics collector hears about (``server/metrics.py`` implements them for
``GET /metrics``): the job entering the spool, intake's answer to a ticket, and the job's result. The spool calls
them; :data:`NO_METRICS` when nothing is measured."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from ..store.jobs import Job


class JobMetrics(Protocol):
    """What the daemon and the intake call; :data:`NO_METRICS` when nothing is measured."""

    def job_accepted(self, job: Job) -> None: ...

    def ticket_answered(self, reply: Mapping[str, Any], *, seconds: float) -> None: ...

    def job_finished(self, job: Job) -> None: ...


class _NoMetrics:
    def job_accepted(self, job: Job) -> None:
        return None

    def ticket_answered(self, reply: Mapping[str, Any], *, seconds: float) -> None:
        return None

    def job_finished(self, job: Job) -> None:
        return None


NO_METRICS: JobMetrics = _NoMetrics()
