"""A network printer's job counts as sent only once the printer has taken every byte: bytes the kernel still holds
for a printer that stopped reading are not printed. Closing is graceful: what was queued (the job, then the status
query asked behind it) still reaches the printer, followed by an orderly end of the connection, never a reset."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest

from ticket_daemon.printers import PrinterError, PrinterState, TcpTransport, Timeouts, tcp
from ticket_daemon.printers.status_exchange import STATUS_QUERY

T = TypeVar("T")
# Far less than the megabytes a loopback socket's send queue takes from a peer that reads nothing.
JOB = bytes(range(256)) * 400  # 100 kB
ON_THE_WIRE = JOB + STATUS_QUERY  # the status query after a job goes out right behind it
QUICK = Timeouts(write=0.5, status=0.5, slowest_bytes_per_second=10**12)


def run(scenario: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(asyncio.wait_for(scenario, timeout=60))


class StoppingReader:
    """A printer on 127.0.0.1 that reads ``first`` bytes, then stops reading until ``resume`` is set; then reads to
    the end of the connection and keeps what it got and how the connection ended."""

    def __init__(self, first: int) -> None:
        self.first = first
        self.resume = asyncio.Event()
        self.received = bytearray()
        self.ending = ""
        self.done = asyncio.Event()
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a printer's small input buffer
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        # A small stream limit: the reader stops taking bytes from the socket once it stops reading.
        self.server = await asyncio.start_server(self._serve, sock=listening, limit=1024)
        return int(listening.getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            self.received += await reader.readexactly(self.first)
            await self.resume.wait()
            while chunk := await reader.read(65536):
                self.received += chunk
            self.ending = "end of stream"
        except OSError as error:
            self.ending = type(error).__name__
        finally:
            writer.close()
            self.done.set()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()


def test_a_job_the_printer_stopped_taking_is_not_sent_and_still_reaches_it_whole_after_close() -> None:
    async def story() -> tuple[str, int | None, bytes, str]:
        printer = StoppingReader(first=1000)
        port = await printer.start()
        transport = TcpTransport("127.0.0.1", port, timeouts=QUICK)
        try:
            await transport.open()
            with pytest.raises(PrinterError) as refused:
                await transport.send(JOB)
            await transport.close()
            printer.resume.set()  # the printer comes back: the kernel still delivers what it held, then the end
            await asyncio.wait_for(printer.done.wait(), timeout=30)
        finally:
            await transport.close()
            printer.resume.set()
            await printer.stop()
        return str(refused.value), refused.value.retryable, bytes(printer.received), printer.ending

    message, retryable, received, ending = run(story())
    assert message.startswith("PRINTER: Timed out sending to 127.0.0.1:")
    assert retryable
    assert received == ON_THE_WIRE
    assert ending == "end of stream"


def test_send_returns_once_the_printer_has_taken_every_byte() -> None:
    async def story() -> tuple[int | None, bytes, str]:
        printer = StoppingReader(first=1000)
        port = await printer.start()
        printer.resume.set()
        transport = TcpTransport("127.0.0.1", port, timeouts=QUICK)
        try:
            await transport.open()
            await transport.send(JOB)
            sock = transport._require_writer().get_extra_info("socket")
            unsent = tcp.unsent_bytes(sock)
            await transport.close()
            await asyncio.wait_for(printer.done.wait(), timeout=30)
        finally:
            await transport.close()
            await printer.stop()
        return unsent, bytes(printer.received), printer.ending

    unsent, received, ending = run(story())
    assert unsent is not None and unsent <= len(STATUS_QUERY)  # at most the query behind the job waits
    assert (received, ending) == (ON_THE_WIRE, "end of stream")


@pytest.mark.parametrize("reads", [True, False])
def test_where_the_send_queue_cannot_be_read_the_printer_closing_its_end_confirms_the_job(
    monkeypatch: pytest.MonkeyPatch, reads: bool
) -> None:
    """Systems without ``SIOCOUTQ``: the connection is half-closed after the job, and the printer closing its end
    (it read everything) confirms it; a printer that stopped reading times the send out instead."""
    monkeypatch.setattr(tcp, "unsent_bytes", lambda sock: None)

    async def story() -> tuple[str, PrinterState | None, bytes]:
        printer = StoppingReader(first=1000)
        port = await printer.start()
        if reads:
            printer.resume.set()
        transport = TcpTransport("127.0.0.1", port, timeouts=QUICK)
        state: PrinterState | None = None
        try:
            await transport.open()
            try:
                await transport.send(JOB)
                outcome = "sent"
                state = await transport.status()
            except PrinterError as error:
                outcome = str(error)
            await transport.close()
            printer.resume.set()
            await asyncio.wait_for(printer.done.wait(), timeout=30)
        finally:
            await transport.close()
            printer.resume.set()
            await printer.stop()
        return outcome, state, bytes(printer.received)

    outcome, state, received = run(story())
    if reads:
        assert (outcome, state) == ("sent", PrinterState.unknown)  # nothing more can be asked after the job
    else:
        assert outcome.startswith("PRINTER: Timed out sending to 127.0.0.1:")
    assert received == ON_THE_WIRE


def test_a_printer_that_closes_once_it_has_the_job_is_not_reported_offline_for_it() -> None:
    """Some printers end the connection themselves once a job is in: every byte was taken, so the status after the
    job cannot be asked (``unknown``), which is no fault. A printer that resets the connection is ``offline``."""

    async def story(reset: bool) -> str:
        async def take_the_job_and_hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readexactly(len(JOB))
            if reset:  # SO_LINGER 0: the close is a reset
                writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.close()

        server = await asyncio.start_server(take_the_job_and_hang_up, "127.0.0.1", 0)
        transport = TcpTransport("127.0.0.1", server.sockets[0].getsockname()[1], timeouts=QUICK)
        try:
            await transport.open()
            await transport.send(JOB)
            for _ in range(200):  # bounded: until the hang-up reaches us
                state = await transport.status()
                if state is not PrinterState.ready:
                    break
                await asyncio.sleep(0.01)
            return state.value
        except PrinterError as error:  # the reset reached us while the job was still being confirmed
            return str(error)
        finally:
            await transport.close()
            server.close()

    assert run(story(reset=False)) == "unknown"
    assert run(story(reset=True)) in ("offline", "PRINTER: Connection lost while printing")


@pytest.mark.parametrize("answers", [True, False])
def test_the_printers_answer_to_the_status_query_behind_a_job_confirms_it_without_its_tcp_ack(
    monkeypatch: pytest.MonkeyPatch, answers: bool
) -> None:
    """Printers often delay their TCP acknowledgement: the answer to the status query sent right behind the job
    shows the printer read every byte before it. Seen here with a send queue that never looks acknowledged: a
    printer that answers confirms the job (and that answer is the status after it); one that says nothing does not."""
    monkeypatch.setattr(tcp, "unsent_bytes", lambda sock: len(ON_THE_WIRE))

    async def story() -> tuple[str, bytes]:
        received = bytearray()

        async def printer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while chunk := await reader.read(65536):
                received.extend(chunk)
                if answers and received.endswith(STATUS_QUERY):
                    writer.write(b"\x12\x12\x12")  # DLE EOT 1, 2, 4: nothing to report
                    await writer.drain()
            writer.close()

        server = await asyncio.start_server(printer, "127.0.0.1", 0)
        transport = TcpTransport("127.0.0.1", server.sockets[0].getsockname()[1], timeouts=QUICK)
        try:
            await transport.open()
            await transport.send(JOB)
            outcome = (await transport.status()).value
        except PrinterError as error:
            outcome = str(error)
        finally:
            await transport.close()
            server.close()
        return outcome, bytes(received)

    outcome, received = run(story())
    if answers:
        assert outcome == "ready"
    else:
        assert outcome.startswith("PRINTER: Timed out sending to 127.0.0.1:")
    assert received == ON_THE_WIRE
