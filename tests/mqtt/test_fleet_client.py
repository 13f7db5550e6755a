"""``FleetClient``: a cloud backend prints at a shop through a real Mosquitto and reads the shop's presence."""

from __future__ import annotations

from pathlib import Path

import pytest

from mqtt.broker import Mosquitto, wait_for
from mqtt.test_session import SITE, start_daemon
from server.harness import receipt
from ticket_daemon.client import FleetClient, Unreachable


def test_fleet_client_prints_at_a_site_and_sees_it_go_offline(tmp_path: Path, broker: Mosquitto) -> None:
    daemon = start_daemon(tmp_path, {"url": broker.url})
    try:
        with FleetClient(broker.url) as fleet:
            assert fleet.presence(SITE, timeout=10) == "online"
            result = fleet.print(SITE, receipt("from head office"), id="hq-1", timeout=15)
            assert result.ok and result.id == "hq-1" and result.mensaje.startswith("Print completed in ")
            refused = fleet.print(SITE, {"version": "1.0", "commands": 3}, id="hq-2", timeout=15)
            assert refused.refused and refused.is_document_error
            assert fleet.presence("nowhere", timeout=0.5) == "unknown"
            with pytest.raises(Unreachable, match=r"^EXECUTION: no result from site 'nowhere'"):
                fleet.print("nowhere", receipt("x"), timeout=0.5)
            daemon.stop()
            wait_for(lambda: fleet.presence(SITE, timeout=0.05) == "offline", "the site to say offline")
        assert len(daemon.virtual_jobs("front")) == 1
    finally:
        if daemon.thread.is_alive():
            daemon.stop()
