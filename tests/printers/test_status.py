"""The printer tells us what is wrong through DLE EOT replies; the assistant reads one plain sentence."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from printers.epson_replies import EPSON_REPLIES
from ticket_daemon.printers import PrinterState, parse_status, state_error, status_replies


@pytest.mark.parametrize("state", [s for s in PrinterState if s is not PrinterState.unknown])
def test_every_state_reads_back_as_itself(state: PrinterState) -> None:
    assert parse_status(status_replies(state)) is state


@pytest.mark.parametrize("state", list(EPSON_REPLIES))
def test_the_bytes_of_epsons_bit_tables_read_as_their_state(state: PrinterState) -> None:
    assert parse_status(EPSON_REPLIES[state]) is state


@pytest.mark.parametrize("state", list(EPSON_REPLIES))
def test_the_virtual_printer_answers_with_the_bytes_of_epsons_bit_tables(state: PrinterState) -> None:
    assert status_replies(state) == EPSON_REPLIES[state]


def test_a_healthy_epson_reply_is_ready() -> None:
    assert parse_status({1: 0x12, 2: 0x12, 4: 0x12}) is PrinterState.ready


def test_cover_open_wins_over_the_offline_it_causes() -> None:
    assert parse_status({1: 0x1A, 2: 0x16, 4: 0x12}) is PrinterState.cover_open


def test_paper_end_sensor_alone_means_paper_out() -> None:
    assert parse_status({1: 0x12, 4: 0x72}) is PrinterState.paper_out


def test_paper_near_end_still_prints() -> None:
    assert parse_status({1: 0x12, 2: 0x12, 4: 0x1E}) is PrinterState.paper_near_end
    assert state_error(PrinterState.paper_near_end) is None


@pytest.mark.parametrize("garbage", [0x00, 0xFF, 0x41, 0x13])
def test_a_byte_without_the_fixed_bits_is_not_a_status(garbage: int) -> None:
    assert parse_status({1: garbage}) is PrinterState.unknown
    assert parse_status({1: 0x12, 2: garbage}) is PrinterState.unknown


def test_no_printer_status_reply_is_unknown() -> None:
    assert parse_status({}) is PrinterState.unknown
    assert parse_status({2: 0x12, 4: 0x12}) is PrinterState.unknown


@given(st.dictionaries(st.sampled_from([1, 2, 3, 4]), st.integers(0, 255)))
def test_any_reply_parses_to_a_state(replies: dict[int, int]) -> None:
    assert parse_status(replies) in PrinterState


@pytest.mark.parametrize(
    ("state", "message"),
    [
        (PrinterState.paper_out, "PRINTER: Paper out"),
        (PrinterState.cover_open, "PRINTER: Cover open"),
        (PrinterState.offline, "PRINTER: Printer offline"),
        (PrinterState.error, "PRINTER: Printer error: check the printer and restart it"),
    ],
)
def test_faults_become_retryable_sentences(state: PrinterState, message: str) -> None:
    error = state_error(state)
    assert error is not None
    assert str(error) == message
    assert error.retryable


@pytest.mark.parametrize("state", [PrinterState.ready, PrinterState.unknown])
def test_a_printer_that_can_print_has_no_error(state: PrinterState) -> None:
    assert state_error(state) is None
