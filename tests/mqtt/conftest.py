from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from mqtt.broker import MOSQUITTO, Cloud, Mosquitto

if not os.path.exists(MOSQUITTO):
    pytest.skip("mosquitto is not installed (scripts/install-system-deps.sh)", allow_module_level=True)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
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
