"""A status check never opens a second connection to a printer in use.

Driven on an in-process daemon (see ``daemon_story``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.daemon_story import dead_printer, run, settings_for
from ticket_daemon.printers.status import PrinterState
from ticket_daemon.server.daemon import Daemon

pytestmark = pytest.mark.usefixtures("isolated_env")  # no TICKET_* setting from the environment running the tests


def test_a_status_check_while_the_printer_is_in_use_reports_the_last_known_state(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, [dead_printer()], storage="memory", status_cache_seconds=0)

    async def story() -> None:
        daemon = Daemon(settings)
        worker = daemon.spool.workers["kitchen"]
        worker.line.record(PrinterState.ready)
        async with worker.line.hold():  # a job is talking to the printer
            assert (await daemon.spool.printer_states())["kitchen"] is PrinterState.ready
        assert (await daemon.spool.printer_states())["kitchen"] is PrinterState.offline  # free again: really asked

    run(story)
