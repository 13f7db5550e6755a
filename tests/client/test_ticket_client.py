"""The Python clients and ``ticket-daemon print`` against a real daemon (uvicorn in a thread, virtual printer)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from server.harness import RunningDaemon, receipt, refused_port
from ticket_daemon.client import AsyncTicketClient, TicketClient, Unreachable
from ticket_daemon.commands.main import main
from ticket_daemon.config import load_settings


@pytest.fixture(autouse=True)
def _no_ticket_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("TICKET_"):
            monkeypatch.delenv(name)


def start_daemon(data_dir: Path, **server: Any) -> RunningDaemon:
    settings = load_settings(
        None,
        {
            "server": {"host": "127.0.0.1", "port": 0, "shutdown_grace_seconds": 2.0, **server},
            "storage": {"data_dir": data_dir},
            "printers": [{"name": "front", "uri": "virtual://front", "default": True}],
        },
    )
    return RunningDaemon(settings)


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[RunningDaemon]:
    running = start_daemon(tmp_path / "data")
    try:
        yield running
    finally:
        running.stop()


def test_sync_client_prints_and_a_resend_of_the_same_id_is_not_printed_again(daemon: RunningDaemon) -> None:
    with TicketClient(daemon.ws_url(), client_id="till-1") as client:
        result = client.print(receipt("hello from python"), id="py-1", timeout=10)
        assert result.ok and result.id == "py-1" and result.mensaje.startswith("Print completed in ")
        again = client.print(receipt("hello from python"), id="py-1", timeout=10)
        assert again.ok and again.id == "py-1"
    assert len(daemon.virtual_jobs("front")) == 1


def test_sync_client_reconnects_after_the_daemon_restarted_and_resends_by_id(tmp_path: Path) -> None:
    first = start_daemon(tmp_path / "data")
    client = TicketClient(first.ws_url(), client_id="till-2")
    try:
        assert client.print(receipt("one"), id="r-1", timeout=10).ok
        port = first.port
        first.stop()
        second = start_daemon(tmp_path / "data", port=port)  # same spool, same address
        try:
            # The old connection is dead: the client reconnects and sends again; the id was printed already.
            result = client.print(receipt("one"), id="r-1", timeout=15)
            assert result.ok and result.id == "r-1"
            assert client.print(receipt("two"), id="r-2", timeout=10).ok
            assert len(second.virtual_jobs("front")) == 2  # r-1 once (before the restart), r-2 once
        finally:
            second.stop()
    finally:
        client.close()


def test_refusal_comes_back_as_a_result_that_says_why(daemon: RunningDaemon) -> None:
    with TicketClient(daemon.ws_url()) as client:
        refused = client.print({"version": "1.0", "commands": [{"type": "nope"}]}, timeout=10)
    assert not refused.ok and refused.refused and refused.is_document_error
    assert refused.category in ("VALIDATION", "COMMAND")


def test_async_client_prints_concurrent_jobs_in_order(daemon: RunningDaemon) -> None:
    async def scenario() -> list[Any]:
        async with AsyncTicketClient(daemon.ws_url(), client_id="till-3") as client:
            jobs = (client.print(receipt(f"a{n}"), id=f"a-{n}", timeout=10) for n in range(3))
            return list(await asyncio.gather(*jobs))

    results = asyncio.run(scenario())
    assert [r.id for r in results] == ["a-0", "a-1", "a-2"] and all(r.ok for r in results)
    assert len(daemon.virtual_jobs("front")) == 3


def test_unreachable_daemon_is_an_execution_error_within_the_timeout() -> None:
    with pytest.raises(Unreachable, match=r"^EXECUTION: no result from the daemon"):
        TicketClient(f"ws://127.0.0.1:{refused_port()}/ws").print(receipt("x"), timeout=1.5)


# --- ticket-daemon print ----------------------------------------------------------------------------------------------


def write(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value))
    return path


def test_print_command_exit_codes(daemon: RunningDaemon, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = daemon.ws_url()
    document = write(tmp_path / "doc.json", receipt("support check"))
    assert main(["print", str(document), "--url", url, "--id", "cli-1"]) == 0
    out = capsys.readouterr()
    assert out.out.startswith("cli-1: success: Print completed in ")

    whole = write(tmp_path / "ticket.json", {"tipo": "ticket", "id": "cli-2", "datos": receipt("whole message")})
    assert main(["print", str(whole), "--url", url, "--printer", "front"]) == 0
    assert capsys.readouterr().out.startswith("cli-2: success")

    bad = write(tmp_path / "bad.json", {"version": "1.0", "commands": "not a list"})
    assert main(["print", str(bad), "--url", url]) == 2
    assert capsys.readouterr().err.startswith("VALIDATION: ")

    (tmp_path / "broken.json").write_text("{nope")
    assert main(["print", str(tmp_path / "broken.json"), "--url", url]) == 2
    assert capsys.readouterr().err.startswith("JSON: ")

    assert main(["print", str(document), "--url", url, "--printer", "kitchen"]) == 1
    assert capsys.readouterr().err.startswith("PRINTER: ")

    dead = f"ws://127.0.0.1:{refused_port()}/ws"
    assert main(["print", str(document), "--url", dead, "--timeout", "1.5"]) == 1
    assert capsys.readouterr().err.startswith("EXECUTION: no result from the daemon at " + dead)
    assert len(daemon.virtual_jobs("front")) == 2


def test_print_command_to_a_port_where_nothing_listens_exits_non_zero_saying_so(tmp_path: Path) -> None:
    document = write(tmp_path / "doc.json", receipt("nobody home"))
    dead = f"ws://127.0.0.1:{refused_port()}/ws"
    # The whole run is bounded well below the default 60 s result timeout: the connect timeout ends it.
    done = subprocess.run(
        [sys.executable, "-m", "ticket_daemon", "print", str(document), "--url", dead],
        capture_output=True,
        text=True,
        timeout=15,
    )
    assert done.returncode == 1
    said = done.stderr.strip()
    assert said.startswith(f"EXECUTION: no result from the daemon at {dead}: nothing answered there within 5 s ("), said
    assert said.endswith("). Is ticket-daemon running, and is this its address?"), said
    assert done.stdout == ""


def test_async_client_gives_up_on_a_daemon_it_cannot_reach_with_the_same_sentence() -> None:
    dead = f"ws://127.0.0.1:{refused_port()}/ws"

    async def scenario() -> None:
        async with AsyncTicketClient(dead) as client:
            await client.print(receipt("x"), timeout=60)

    with pytest.raises(Unreachable, match=r"^EXECUTION: no result from the daemon at .*: nothing answered there"):
        asyncio.run(asyncio.wait_for(scenario(), timeout=15))
