"""A printer answers DLE EOT status requests wherever they fall in the stream, but never mistakes image or QR data
for one: what it prints is exactly what was sent, minus the requests."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from ticket_daemon.escpos import commands
from ticket_daemon.printers.realtime import RealtimeSplitter

STATUS_1 = commands.status_request(1)
# Image and QR payloads that happen to contain the bytes of DLE EOT 1.
RASTER = commands.raster_image(2, 3, b"\x10\x04\x01\x10\x04\x02")
QR = commands.qr_store(b"\x10\x04\x04 data")
JOB = commands.INITIALIZE + b"Hello\n" + RASTER + QR + commands.QR_PRINT + commands.CUT_PARTIAL


def split(*chunks: bytes) -> tuple[bytes, list[int]]:
    splitter = RealtimeSplitter()
    job = bytearray()
    requests: list[int] = []
    for chunk in chunks:
        payload, asked = splitter.feed(chunk)
        job += payload
        requests += asked
    job += splitter.finish()
    return bytes(job), requests


def test_status_requests_around_a_job_are_answered_not_printed() -> None:
    stream = commands.status_request(1) + commands.status_request(2) + JOB + commands.status_request(4)
    assert split(stream) == (JOB, [1, 2, 4])


def test_binary_payloads_that_look_like_status_requests_are_printed() -> None:
    assert split(JOB) == (JOB, [])


def test_barcode_data_is_skipped_in_both_forms() -> None:
    legacy = b"\x1d\x6b\x04" + b"\x10\x04\x01" + b"\x00"  # GS k m=4 (CODE39), NUL-terminated
    modern = commands.barcode(73, b"\x10\x04\x01AB")
    assert split(legacy + modern + STATUS_1) == (legacy + modern, [1])


def test_a_parameter_byte_equal_to_dle_is_not_a_request() -> None:
    job = commands.select_code_table(16) + b"\x04\x01text"  # ESC t 16 — 16 is DLE
    assert split(job) == (job, [])


def test_a_real_time_drawer_pulse_whose_last_byte_is_dle_is_not_a_request() -> None:
    job = b"\x10\x14\x01\x01\x10" + b"\x04\x01text"  # DLE DC4 1 m t with t = 16 (DLE), then text
    assert split(job) == (job, [])


def test_other_real_time_commands_are_passed_through() -> None:
    job = b"\x10\x04\x07\x10\x05\x02"  # DLE EOT 7 (not a status request here) and DLE ENQ 2
    assert split(job) == (job, [])


def test_a_stream_cut_inside_a_command_keeps_its_bytes() -> None:
    assert split(b"abc\x1d\x76\x30") == (b"abc\x1d\x76\x30", [])


@given(st.lists(st.integers(0, len(JOB) + 6), max_size=8))
def test_how_the_network_splits_the_stream_does_not_matter(cuts: list[int]) -> None:
    stream = STATUS_1 + JOB + commands.status_request(2)
    bounds = [0, *sorted(cuts), len(stream)]
    chunks = [stream[a:b] for a, b in itertools.pairwise(bounds)]
    assert split(*chunks) == (JOB, [1, 2])


def test_a_status_request_after_job_bytes_ends_that_job() -> None:
    """The daemon asks the status after each job, so jobs sent one after another over one connection are told
    apart; a request before any job byte (the check before a job) ends nothing."""
    splitter = RealtimeSplitter()
    query = b"\x10\x04\x01\x10\x04\x02\x10\x04\x04"
    first, second = b"\x1b@first\n", b"\x1b@second\n"
    job, requests = splitter.feed(query + first + query + second[:4])
    assert (job, requests, splitter.job_ends()) == (first + second[:4], [1, 2, 4, 1, 2, 4], [len(first)])
    job, requests = splitter.feed(second[4:] + query)
    assert (job, requests, splitter.job_ends()) == (second[4:], [1, 2, 4], [len(second) - 4])
    assert splitter.feed(query) == (b"", [1, 2, 4])
    assert splitter.job_ends() == []
