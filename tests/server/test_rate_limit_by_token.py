"""The rate limit holds whatever auth token a message carries.

Driven on an in-process daemon (see ``daemon_story``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.daemon_story import SLOW_RETRY, dead_printer, run, send, settings_for, ticket
from ticket_daemon.protocol import messages
from ticket_daemon.server.daemon import Daemon

pytestmark = pytest.mark.usefixtures("isolated_env")  # no TICKET_* setting from the environment running the tests


def test_changing_the_auth_token_per_message_does_not_dodge_the_rate_limit(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, [dead_printer()], spool=SLOW_RETRY, storage="memory", rate_limit_per_minute=3)

    async def story() -> None:
        daemon = Daemon(settings)
        await daemon.start()
        try:
            replies = [(await send(daemon, ticket(auth_token=f"made-up-{i}")))[0] for i in range(6)]
        finally:
            await daemon.stop()
        assert [r["tipo"] for r in replies] == ["ack"] * 3 + ["error"] * 3
        assert replies[-1]["mensaje"] == messages.RATE_LIMITED

    run(story)
