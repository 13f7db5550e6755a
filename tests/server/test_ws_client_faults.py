"""Client faults on ``/ws`` are answered in the protocol's terms and never logged as server faults: a text frame
that is not UTF-8, and a client that closes while its replies are still being written."""

from __future__ import annotations

import json
import logging

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from server.harness import WAIT_S, DaemonLauncher
from ticket_daemon.logs import install_client_fault_log

ROUNDS = 20


def faults_in(caplog: pytest.LogCaptureFixture) -> list[str]:
    # At the daemon's lowest usual level (INFO): the websockets library adds debug lines of its own.
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.INFO and (r.exc_info or r.levelno >= logging.ERROR)
    ]


def test_text_frames_that_are_not_utf8_are_answered_and_closed_with_1007_without_a_traceback(
    daemons: DaemonLauncher, caplog: pytest.LogCaptureFixture
) -> None:
    running = daemons.start()
    caplog.set_level(logging.DEBUG)
    install_client_fault_log()  # no fault of this address logged yet in this interval
    for n in range(ROUNDS):
        with connect(f"ws://127.0.0.1:{running.port}/ws", open_timeout=WAIT_S, proxy=None) as ws:
            assert json.loads(ws.recv(timeout=WAIT_S))["tipo"] == "info"
            ws.send(b'{"tipo":"ping","id":"\xc3\x28"}', text=True)  # 0xC3 0x28: a broken two-byte sequence
            assert json.loads(ws.recv(timeout=WAIT_S)) == {
                "tipo": "error",
                "status": "error",
                "mensaje": "JSON: the message is not UTF-8 text (invalid byte at offset 21)",
            }
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=WAIT_S)
            assert closed.value.rcvd is not None
            assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (
                1007,
                "JSON: the message is not UTF-8 text (invalid byte at offset 21)",
            ), n
    assert faults_in(caplog) == []
    warnings = [r for r in caplog.records if "not valid UTF-8" in r.getMessage()]
    # One line for them all: one address's faults are logged once per interval (logs.client_fault).
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    assert running.connect().request({"tipo": "ping", "id": "still"})["tipo"] == "pong"


def test_no_reply_is_sent_after_the_close_frame_and_none_is_logged_as_a_fault(
    daemons: DaemonLauncher, caplog: pytest.LogCaptureFixture
) -> None:
    # A frame over the size limit makes the server close the connection (1009) at once, while the replies to the
    # pings before it are still queued: they are dropped with the connection, never written after the close.
    running = daemons.start(max_frame_bytes=1024)
    caplog.set_level(logging.DEBUG)
    for _ in range(ROUNDS):
        with connect(f"ws://127.0.0.1:{running.port}/ws", open_timeout=WAIT_S, proxy=None, close_timeout=2) as ws:
            for n in range(150):  # within the burst: each one is answered
                ws.send(json.dumps({"tipo": "ping", "id": f"p{n}"}))
            ws.send("x" * 2048)
            codes = []
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    codes.append(json.loads(ws.recv(timeout=WAIT_S))["tipo"])
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
            assert set(codes) <= {"info", "pong"}
    assert running.connect().request({"tipo": "ping", "id": "after"})["tipo"] == "pong"
    assert faults_in(caplog) == []
