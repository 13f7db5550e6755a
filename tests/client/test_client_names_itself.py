"""The Python client resends a ticket after a reconnect, so it always names itself: only then is a resent id a
duplicate (docs/protocol.md "Idempotent ids"). Against a real daemon (uvicorn in a thread, virtual printer)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.harness import RunningDaemon, receipt
from ticket_daemon.client import TicketClient
from ticket_daemon.config import load_settings


@pytest.fixture
def daemon(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningDaemon]:
    for name in list(os.environ):
        if name.upper().startswith("TICKET_"):
            monkeypatch.delenv(name)
    settings = load_settings(
        None,
        {
            "server": {"host": "127.0.0.1", "port": 0, "shutdown_grace_seconds": 2.0},
            "storage": {"data_dir": tmp_path / "data"},
            "printers": [{"name": "front", "uri": "virtual://front", "default": True}],
        },
    )
    running = RunningDaemon(settings)
    try:
        yield running
    finally:
        running.stop()


def test_a_client_given_no_client_id_still_has_its_resent_id_answered_as_a_duplicate(daemon: RunningDaemon) -> None:
    with TicketClient(daemon.ws_url()) as client:
        first = client.print(receipt("resent after a reconnect"), id="py-9", timeout=10)
        again = client.print(receipt("resent after a reconnect"), id="py-9", timeout=10)
    assert first.ok and again.ok and again.id == "py-9"
    assert again.mensaje == first.mensaje + " (duplicate id: not printed again)"
    assert len(daemon.virtual_jobs("front")) == 1


def test_a_client_id_already_in_the_url_is_kept(daemon: RunningDaemon) -> None:
    with TicketClient(daemon.ws_url("till-7")) as client:
        assert client.print(receipt("named in the url"), id="py-10", timeout=10).ok
    assert TicketClient(daemon.ws_url("till-7")).url == daemon.ws_url("till-7")
