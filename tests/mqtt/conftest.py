"""A private Mosquitto per test (``broker``) and a cloud-side client on it (``cloud``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from mqtt.broker import MOSQUITTO, Cloud, Mosquitto


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    if not os.path.exists(MOSQUITTO):
        pytest.skip("mosquitto is not installed (scripts/install-system-deps.sh installs it)")
    mosquitto = Mosquitto(tmp_path)
    try:
        yield mosquitto
    finally:
        mosquitto.stop()


@pytest.fixture
def cloud(broker: Mosquitto) -> Iterator[Cloud]:
    client = Cloud(broker)
    try:
        yield client
    finally:
        client.close()
