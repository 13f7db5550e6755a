"""Taking in a ``ticket``: every check docs/protocol.md asks for, in its order, then the ``ack``.

Order (the first failing check decides the reply): ``datos`` present → auth token (when configured) → rate limit
(the front door's: per connection, under a ceiling per address) → duplicate id → document valid and rendered (on
the event loop, in a thread or in a worker process, by cost) → printer selection → queue capacity → ``ack``. Nothing
is queued unless every check passed. The duplicate check is made where the job is stored (atomically, one trip to the
spool thread); a ticket refused before that looks its id up first, so the reply is the one this order gives.
Independent of the transport: ``/ws``, the HTTP mirror and MQTT share it through the service (``service.py``), each
passing who sent the ticket (:class:`Submitter`, with the rate limit that applies to it) and where its replies go.

The printer is chosen before rendering, and the document is laid out for that printer's paper (docs/document.md
"Profile"); the ``ack`` comes only after a successful render, and only through the spool's
:class:`~.results.ResultRouter`, which holds the job's result until its ack is out.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ..document.errors import TicketError
from ..logs import audit
from ..protocol import messages
from ..protocol.connection import ClientIdentity, ConnectionState
from ..protocol.requests import Ticket
from ..protocol.tokens import token_matches
from ..store.jobs import DuplicateJob, IdConflict, Job, check_reuse, document_digest
from ..store.records import MAX_JOB_ID_CHARS, new_job
from .facade import NotAccepting, PrintSpool
from .results import ResultSink

log = logging.getLogger(__name__)


class RateLimit(Protocol):
    """A front door's job budget (docs/protocol.md "Rate limits and floods"; ``server.ratelimit``): may a job from this
    submitter go on at ``now``? The object knows whose budget it is (``/ws`` passes one per connection); the
    remote address given with each job names the ceiling shared by everything from that address."""

    def allow(self, address: str, now: float, /) -> bool: ...


@dataclass(frozen=True, slots=True)
class Submitter:
    """Who sent the request (its identity), where its replies go, the rate limit that applies to it (its
    connection's budget, for ``/ws``) and, for a ``/ws`` client, its connection's protocol state (whether it proved
    the token, whether its results are routed to it)."""

    identity: ClientIdentity
    sink: ResultSink
    rate_limit: RateLimit
    connection: ConnectionState | None = None

    @property
    def address(self) -> str:
        return self.identity.address

    @property
    def client_id(self) -> str | None:
        return self.identity.client_id

    @property
    def owner(self) -> str:
        return self.identity.owner

    @property
    def names_itself(self) -> bool:
        """docs/protocol.md "Ids": a client that names itself has exactly-once ids within the duplicate
        window; an anonymous one (every client written for the original) has every ticket printed."""
        return self.client_id is not None

    @property
    def client_key(self) -> str:
        return self.identity.client_key


async def submit_ticket(spool: PrintSpool, ticket: Ticket, submitter: Submitter) -> int | None:
    """Handle a ``ticket``. Every reply goes to the submitter's sink, in order: ``ack`` then, later, ``result``;
    or one ``error``; or, for an id already accepted, a duplicate ``ack`` (and the result again if it finished).
    Returns the ``seq`` of the stored job the ``ack`` answers for (None for an ``error``): an anonymous client may
    reuse ids, so its connection remembers which job each of its ids names."""
    started = time.perf_counter()
    outcome = await _outcome(spool, ticket, submitter)
    seq: int | None = None
    if isinstance(outcome, _Acked):
        reply, seq = outcome.ack, outcome.seq
        spool.results.acknowledge(outcome.seq, outcome.ack, submitter.sink)
    elif isinstance(outcome, _AlreadyFinished):
        reply, seq = outcome.ack, outcome.job.seq
        spool.results.acknowledge_finished(submitter.sink, outcome.ack, outcome.job)
    else:
        reply = outcome
        submitter.sink.send(outcome)
    spool.metrics.ticket_answered(reply, seconds=time.perf_counter() - started)
    return seq


@dataclass(frozen=True, slots=True)
class _Acked:
    """The job is stored (or was already pending): its ``ack`` goes out through the result router."""

    seq: int
    ack: messages.Message


@dataclass(frozen=True, slots=True)
class _AlreadyFinished:
    """A duplicate of a job that already finished: its ``ack``, then its result again."""

    ack: messages.Message
    job: Job


_Outcome = _Acked | _AlreadyFinished | messages.Message


async def _outcome(spool: PrintSpool, ticket: Ticket, submitter: Submitter) -> _Outcome:
    job_id = ticket.job_id

    # 1. docs/protocol.md: "Field 'datos' is required for type 'ticket'" (null counts as missing, as the original).
    datos = ticket.datos
    if datos is None:
        return messages.error(messages.DATOS_REQUIRED, job_id)

    # 2. Auth token, compared in constant time; the audit line names the client, never the token.
    token = ticket.auth_token
    expected = spool.settings.server.auth_token.get_secret_value()
    if expected and not token_matches(token, expected):
        audit("auth failure", client=submitter.client_id or "-", address=submitter.address, job=job_id or "-")
        return messages.error(messages.AUTH_INVALID, job_id)

    # 3. Rate limit (default 30 jobs per minute per connection, 10 times that per address).
    if not submitter.rate_limit.allow(submitter.address, time.monotonic()):
        audit("rate limited", client=submitter.client_id or "-", address=submitter.address, job=job_id or "-")
        return messages.error(messages.RATE_LIMITED, job_id)

    if not spool.accepting:
        return messages.error(messages.SHUTTING_DOWN, job_id)
    raw_id = ticket.raw_id
    if raw_id is not None and raw_id != "" and job_id is None:
        return messages.error(messages.BAD_ID.format(limit=MAX_JOB_ID_CHARS))

    if not isinstance(datos, Mapping):
        return messages.error(messages.DATOS_NOT_OBJECT.format(got=messages.json_type(datos)), job_id)

    printer_name = ticket.printer
    if printer_name is not None and not isinstance(printer_name, str):
        refusal = messages.error(messages.PRINTER_NOT_STRING, job_id)
        return await _refused_unless_reused(spool, refusal, job_id, datos, submitter)

    # 4. Validate, choose the printer (ticket.printer, else profile.model against names/aliases, else the
    # default), and render for its paper in the render pool: the smallest documents on the event loop, others off
    # it, under a time and size budget, one render worker at a time per client (renderpool.py).
    # docs/protocol.md "Ids" puts the duplicate check before validation. The add below
    # makes it atomically, within the sender's own scope and the duplicate window, so a ticket that renders is not
    # read first (one trip to the spool thread per ticket, not two); a ticket refused before its add looks its id
    # up instead, so a resent id still gets its duplicate ack (or its id conflict) whatever its document.
    try:
        rendered = await spool.render_pool.render(
            submitter.client_key,
            datos,
            raw_policy=spool.settings.server.raw_policy,
            registry=spool.registry,
            printer_name=printer_name,
        )
    except TicketError as error:
        return await _refused_unless_reused(spool, messages.error(str(error), job_id), job_id, datos, submitter)
    assert rendered.printer is not None  # a registry was given

    job = new_job(
        job_id or str(uuid.uuid4()),
        client_id=submitter.owner,
        printer=rendered.printer,
        document=rendered.document_json,
        data=rendered.data,
        notes=rendered.notes,
        now=spool.clock(),
        # Of the document as the client sent it, before any lenient substitution: a retry of the very same message
        # always matches (made by the renderer, with the canonical JSON it stores).
        digest=rendered.digest,
    )
    # 6. Capacity: refuse at once, never make the client wait on the socket.
    try:
        stored = await spool.accept(job, submitter.sink, idempotent=submitter.names_itself)
    except DuplicateJob as duplicate:
        return await _duplicate(spool, duplicate.existing, submitter)
    except IdConflict as conflict:
        return messages.error(str(conflict), job_id)
    except OverflowError:
        return messages.error(messages.QUEUE_FULL, job_id)
    except NotAccepting:
        return messages.error(messages.SHUTTING_DOWN, job_id)
    except TicketError as error:  # the disk refused: the job was not stored, so no ack
        log.error("job %s not stored: %s", job.id, error)
        return messages.error(str(error), job_id)
    # DEBUG: the printer worker's line when the job ends is the one INFO line a job writes (per-job lines are the
    # biggest cost of logging on the ack path).
    log.debug("job %s accepted for printer %s from %s", stored.id, stored.printer, submitter.client_key)
    return _Acked(stored.seq, messages.ack(stored.id, current=await _depth(spool), capacity=spool.capacity))


async def _refused_unless_reused(
    spool: PrintSpool, refusal: messages.Message, job_id: str | None, datos: Mapping[str, Any], submitter: Submitter
) -> _Outcome:
    """A ticket that cannot be stored: its refusal, unless its owner used its id within the duplicate window (then,
    as if the id had been checked first: the same document's duplicate ``ack``, another document's id conflict)."""
    if job_id is None or not submitter.names_itself:  # an anonymous client's ids are never duplicates
        return refusal
    now = spool.clock()
    window = spool.duplicate_window_seconds
    try:
        existing = await spool.store.find(submitter.owner, job_id, newer_than=now - window)
        probe = Job(id=job_id, client_id=submitter.owner, printer="", document="", digest=document_digest(datos))
        check_reuse(existing, probe, window_seconds=window, now=now)
    except DuplicateJob as duplicate:
        return await _duplicate(spool, duplicate.existing, submitter)
    except TicketError as error:  # IdConflict ("VALIDATION: …"), or "STORAGE: …": nothing is acked
        return messages.error(str(error), job_id)
    return refusal


async def _after_redirect(spool: PrintSpool, existing: Job) -> Job:
    """The job to answer for, now that its result goes to the resending connection. One that finished after the
    redirect has its result held behind the duplicate ``ack`` (``existing`` is answered, the result follows); one
    that finished before it is returned final, its route dropped, so its result is sent again right after the
    ``ack``. Every ack gets its result either way."""
    try:
        current = await spool.store.get(existing.seq)
    except TicketError as error:  # unreadable now: the route stays, and a finish still to come is delivered
        log.warning("cannot read job %s again after its duplicate: %s", existing.id, error)
        return existing
    if current is not None and current.state.is_final and spool.results.missed(current.seq):
        return current
    return existing


async def _depth(spool: PrintSpool) -> int:
    """Jobs pending, for an ``ack``. The job is stored and will print: no failure here may turn its ack into an
    error, or the client would resend it and its result would wait in the spool forever."""
    try:
        return await spool.queue_depth()
    except Exception as error:
        log.warning("cannot count the pending jobs for an ack: %s", error)
        return 0


async def _duplicate(spool: PrintSpool, existing: Job, submitter: Submitter) -> _Outcome:
    """``existing`` is the sender's own job (found in its scope): a retry, acked as a duplicate."""
    if not existing.state.is_final:
        # Still to print when it was read: its result now goes to the connection its own client resent it from (it
        # may have reconnected). The job may have finished since that read, its result sent where the route then
        # pointed; so it is read again after the redirect, and one that finished before it is answered as finished.
        spool.results.redirect(existing.seq, submitter.sink)
        existing = await _after_redirect(spool, existing)
    reply = messages.ack_duplicate(
        existing.id, state=existing.state.value, current=await _depth(spool), capacity=spool.capacity
    )
    if existing.state.is_final:
        # "if that job already finished its result is sent again", right after this ack.
        return _AlreadyFinished(reply, existing)
    return _Acked(existing.seq, reply)
