"""The DLE EOT exchange the tcp, serial and usb transports share: what goes out, how replies are gathered and what
a partial or missing answer means. Replies are literal Epson status bytes (bits 1 and 4 of each are always set)."""

from __future__ import annotations

import time

import pytest

from ticket_daemon.printers import PrinterState, Timeouts
from ticket_daemon.printers.status_exchange import STATUS_QUERY, StatusExchange

READY = bytes([0x12, 0x12, 0x12])  # DLE EOT 1, 2, 4: only the fixed bits
PAPER_OUT = bytes([0x1A, 0x32, 0x7E])  # 1: bit 3 offline; 2: bit 5 stopped by paper end; 4: bits 2-3 and 5-6


class Line:
    """A link whose printer answers with ``answer``, ``per_read`` bytes at a time."""

    def __init__(self, answer: bytes, per_read: int = 1) -> None:
        self.answer = answer
        self.per_read = per_read
        self.sent = b""
        self.reads = 0

    def write(self, data: bytes) -> None:
        self.sent += data

    def read(self, count: int, seconds: float) -> bytes:
        self.reads += 1
        assert seconds > 0  # the time left, handed to the link's own read timeout
        taken, self.answer = self.answer[: min(count, self.per_read)], self.answer[min(count, self.per_read) :]
        if not taken:
            raise TimeoutError
        return taken


def test_the_query_is_dle_eot_1_2_4_sent_at_once() -> None:
    assert STATUS_QUERY == b"\x10\x04\x01\x10\x04\x02\x10\x04\x04"
    line = Line(PAPER_OUT)
    assert StatusExchange.collect(line.write, line.read, 1.0) == PAPER_OUT
    assert line.sent == STATUS_QUERY and line.reads == 3


def test_replies_are_read_until_all_three_are_in_and_no_further() -> None:
    line = Line(READY + b"\x12", per_read=8)
    assert StatusExchange.collect(line.write, line.read, 1.0) == READY
    assert line.reads == 1


def test_a_link_that_goes_quiet_ends_the_collection_before_the_budget() -> None:
    line = Line(b"\x12")
    started = time.monotonic()
    assert StatusExchange.collect(line.write, line.read, 5.0) == b"\x12"
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize(("replies", "state"), [(READY, PrinterState.ready), (PAPER_OUT, PrinterState.paper_out)])
def test_a_full_answer_is_the_state_it_describes(replies: bytes, state: PrinterState) -> None:
    exchange = StatusExchange(Timeouts())
    assert exchange.verdict(replies, silence=PrinterState.offline) is state
    assert not exchange.unanswered


def test_a_partial_answer_is_unknown_for_the_rest_of_the_connection() -> None:
    exchange = StatusExchange(Timeouts())
    assert exchange.verdict(b"\x1a", silence=PrinterState.offline) is PrinterState.unknown
    assert exchange.unanswered
    exchange.restart()
    assert not exchange.unanswered


def test_silence_means_what_the_link_says_it_means() -> None:
    switched_off = StatusExchange(Timeouts())
    assert switched_off.verdict(b"", silence=PrinterState.offline) is PrinterState.offline
    assert not switched_off.unanswered  # asked again next time: the printer may have been switched on
    no_status = StatusExchange(Timeouts())
    assert no_status.verdict(b"", silence=PrinterState.unknown) is PrinterState.unknown
    assert no_status.unanswered


def test_a_job_still_ahead_of_the_query_stretches_the_budget() -> None:
    exchange = StatusExchange(Timeouts(status=1.5, slowest_bytes_per_second=8_000))
    assert exchange.budget() == pytest.approx(1.5)
    exchange.job_sent(80_000)  # ten seconds of the slowest printer's input
    assert 11.0 < exchange.budget() <= 11.5
