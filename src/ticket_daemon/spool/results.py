"""Where each job's messages go, and the one rule about their order: a job's ``ack`` always comes before its
``result`` (and before any "waiting" notice).

The router is the only sender of both. A front door never sends an ``ack`` itself: it hands it to
:meth:`ResultRouter.acknowledge`, which queues it on the job's sink and only then releases a result that arrived
first (a fast printer can finish before the ack leaves). Until that call, results and notices for the job are held,
so no call order can put a result ahead of its ack. Sinks are connection outboxes that keep order (FIFO).

Routes are keyed by the job's ``seq``, never by the client's id: ids are scoped per client (docs/protocol.md
"Ids"), so two clients may use the same id at once. A result goes to the connection that sent the job; if that one
is gone, to the live connection of the job's own client (its owner); never to anyone else. It counts as
delivered only once written (:meth:`written`); until then a client that reconnects gets it again, from the spool.
A door says which result was written by (owner, id), and an anonymous client's ids repeat (docs/protocol.md
"Ids"): the router knows which job's result it handed out under that name, and records that job, by seq.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, OrderedDict
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

from ..document.errors import TicketError
from ..protocol import messages
from ..store.interface import JobStore
from ..store.jobs import Job, JobState

log = logging.getLogger(__name__)


class ResultSink(Protocol):
    """Where a job's messages go (a connection's outbox, an HTTP response, the broker). Neither call may block;
    each returns False when the message could not be queued (the connection is gone), so a durable result stays
    undelivered until its client reconnects. A sink is told by the call whether it carries a job's result: a result
    counts as delivered once the sink wrote it (:meth:`ResultRouter.written`)."""

    def send(self, message: messages.Message, /) -> bool: ...

    def result(self, job_id: str, message: messages.Message, /) -> bool: ...


# (owner, id) names whose results were handed to a connection and not written yet: a connection that goes away
# never writes its own, so only the newest are kept (an unrecorded delivery only means a harmless resend).
MAX_UNWRITTEN_NAMES = 4096


def result_message(job: Job, *, again: bool = False) -> messages.Message:
    """The job's ``result``; ``again``: sent once more for a duplicate, saying it was not printed again."""
    mensaje = job.message + messages.NOT_PRINTED_AGAIN if again else job.message
    return messages.result(job.id, success=job.state is JobState.SUCCESS, mensaje=mensaje)


@dataclass(slots=True)
class _Route:
    sink: ResultSink
    acked: bool = False
    held: Job | None = None  # the finished job, when it finished before its ack was sent


class ResultRouter:
    def __init__(self, store: JobStore) -> None:
        self._store = store
        self._routes: dict[int, _Route] = {}  # job seq → where its messages go; bounded by the queue capacity
        self._clients: dict[str, ResultSink] = {}  # owner (client_id) → its live connection
        self._background: set[asyncio.Task[None]] = set()
        # (owner, id) → seqs of the jobs whose results went to a connection under that name, oldest first
        self._unwritten: OrderedDict[tuple[str, str], list[int]] = OrderedDict()
        self._delivered: list[int] = []  # seqs of results written, not yet recorded
        self._recording: Counter[int] = Counter()  # seqs of results whose record is being written

    # --- before the ack ----------------------------------------------------------------------------------------

    def expect(self, seq: int, sink: ResultSink) -> None:
        """The job was just stored: its messages go to ``sink``, held until :meth:`acknowledge`. Call right after
        the store returned, before any ``await``: a worker reads the job only after that store call answered, so it
        cannot report the job before the route exists."""
        self._routes[seq] = _Route(sink)

    def is_routed(self, seq: int) -> bool:
        """Whether a message of this job is still expected to go to a particular connection."""
        return seq in self._routes

    def redirect(self, seq: int, sink: ResultSink) -> None:
        """A pending job was sent again by its own client (same owner, maybe from a new connection): its result goes
        to ``sink`` from now on, after the duplicate's :meth:`acknowledge`. After a restart there is no route yet:
        one is made and held like a new job's, so the result follows the duplicate ``ack`` exactly once. Callers
        only pass a job found in the sender's own scope: another client's job is never redirected."""
        route = self._routes.get(seq)
        if route is None:
            self._routes[seq] = _Route(sink)
        else:
            route.sink, route.acked = sink, False

    def missed(self, seq: int) -> bool:
        """The job, found final after its :meth:`redirect`, finished before it (its route holds no result, so none
        would follow the duplicate ``ack``): the route is dropped and True returned; the caller sends the result
        again itself. False when the result is held behind the ``ack``."""
        route = self._routes.get(seq)
        if route is not None and route.held is not None:
            return False
        self._routes.pop(seq, None)
        return True

    def acknowledge(self, seq: int, ack: messages.Message, sink: ResultSink) -> None:
        """Send the job's ``ack`` (new or duplicate) to ``sink``, the connection that sent it; then, if that is
        where the job's result goes, anything held behind the ack. A result redirected to another connection
        meanwhile stays held until that connection's own ack is out."""
        _deliver(sink, ack)
        route = self._routes.get(seq)
        if route is None or route.sink is not sink:
            return
        route.acked = True
        if route.held is not None:
            del self._routes[seq]
            self._send_result(route.held, route.sink)

    def acknowledge_finished(self, sink: ResultSink, ack: messages.Message, job: Job) -> None:
        """A duplicate of a job that already finished: its ``ack``, then its result again (saying it was not printed
        again), in that order."""
        if _deliver(sink, ack):
            self._hand(sink, job, again=True)

    # --- after the ack -----------------------------------------------------------------------------------------

    def finished(self, job: Job) -> None:
        """The job reached a final state: send its result now, or hold it until its ack is out."""
        route = self._routes.get(job.seq)
        if route is not None and not route.acked:
            route.held = job
            return
        self._routes.pop(job.seq, None)
        self._send_result(job, route.sink if route is not None else None)

    def waiting(self, job: Job) -> None:
        """Tell the client its job waits for the printer (never before its ack)."""
        route = self._routes.get(job.seq)
        message = messages.job_waiting(job.id, job.message)
        if route is not None:
            if route.acked:
                _deliver(route.sink, message)
            return
        live = self._clients.get(job.client_id)
        if live is not None:
            _deliver(live, message)

    def written(self, owner: str, job_id: str) -> None:
        """A ``result`` of ``owner``'s job ``job_id`` left for that client (written to its socket, or in an HTTP
        response): do not resend it. Of the results handed out under that name, the oldest not written yet is the
        one (a connection writes in order); the job recorded is that one's, by seq.

        Recorded in the background, every result written meanwhile in one store write (no read first): the record
        only spares a client a harmless resend on reconnect, so it never holds up anything else."""
        seqs = self._unwritten.get((owner, job_id))
        if not seqs:
            return
        seq = seqs.pop(0)
        if not seqs:
            del self._unwritten[(owner, job_id)]
        self._delivered.append(seq)
        if len(self._delivered) == 1:  # the first since the last write: one task records them all
            self._in_background(self._mark_delivered())

    # --- clients that come back --------------------------------------------------------------------------------

    async def attach(self, client_id: str, sink: ResultSink) -> None:
        """A connection identified as ``client_id`` opened: results of its jobs go there from now on, and those
        that finished while it was away are re-sent now, in acceptance order."""
        self._clients[client_id] = sink
        try:
            missed = await self._store.undelivered_results(client_id)
        except TicketError as error:
            log.error("cannot read the results owed to client %s: %s", client_id, error)
            return
        # Written to the client's last connection, their record not on disk yet: not owed (a reconnecting till
        # would otherwise get a result it already has).
        being_recorded = {*self._delivered, *self._recording}
        for job in missed:
            if job.seq in self._routes:  # its own connection is about to get it after the ack
                continue
            if job.seq in being_recorded:
                continue
            if not self._hand(sink, job):
                return

    def detach(self, client_id: str, sink: ResultSink) -> None:
        if self._clients.get(client_id) is sink:
            del self._clients[client_id]

    async def close(self) -> None:
        """Wait for the delivery records still being written (a door's last confirmations, handed to the event
        loop from its network thread, run first)."""
        await asyncio.sleep(0)
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    def _send_result(self, job: Job, sink: ResultSink | None) -> None:
        if sink is not None and self._hand(sink, job):
            return
        live = self._clients.get(job.client_id)
        if live is not None and live is not sink:
            self._hand(live, job)

    def _hand(self, sink: ResultSink, job: Job, *, again: bool = False) -> bool:
        """Send the job's result to ``sink``; remember under its name which job it was, for :meth:`written`."""
        try:
            if not sink.result(job.id, result_message(job, again=again)):
                return False
        except Exception:
            log.exception("delivering a result failed")
            return False
        name = (job.client_id, job.id)
        self._unwritten.setdefault(name, []).append(job.seq)
        self._unwritten.move_to_end(name)
        if len(self._unwritten) > MAX_UNWRITTEN_NAMES:
            self._unwritten.popitem(last=False)
        return True

    async def _mark_delivered(self) -> None:
        await asyncio.sleep(0)  # results written in the same turn of the event loop join this write
        delivered, self._delivered = self._delivered, []
        self._recording.update(delivered)
        try:
            await self._store.mark_results_delivered(delivered)
        except Exception as error:  # the client may get the result again on reconnect: harmless, ids are idempotent
            seqs = ", ".join(str(seq) for seq in delivered[:5]) + (", …" if len(delivered) > 5 else "")
            log.warning("cannot record that the results of jobs (seq) %s were delivered: %s", seqs, error)
        finally:
            self._recording.subtract(delivered)
            self._recording = +self._recording  # drop the counts that reached zero

    def _in_background(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)


def _deliver(sink: ResultSink, message: messages.Message) -> bool:
    try:
        return sink.send(message)
    except Exception:
        log.exception("delivering a message failed")
        return False
