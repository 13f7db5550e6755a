"""``config check`` refuses exactly what ``serve`` refuses, and nothing it prints carries a secret. Both commands
run as the user runs them (``python -m ticket_daemon …``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from service.helpers import write_config

PASSWORD = "hunter2-broker-pw"
URL_IN_CREDENTIALS = (
    "VALIDATION: mqtt.url must not contain a user name or password: set mqtt.username and mqtt.password"
)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("TICKET_")}
    return subprocess.run(
        [sys.executable, "-m", "ticket_daemon", *args], capture_output=True, text=True, timeout=60, check=False, env=env
    )


def test_credentials_in_the_broker_url_are_refused_by_check_and_serve_alike_and_never_shown(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "config.toml",
        {"port": 0},
        storage={"data_dir": str(tmp_path / "data")},
        mqtt={"url": f"mqtt://shop:{PASSWORD}@broker.invalid:1883", "site": "shop1"},
    )

    checked = run("config", "check", str(config))
    served = run("serve", "--config", str(config))

    assert (checked.returncode, checked.stdout, checked.stderr.strip()) == (2, "", URL_IN_CREDENTIALS)
    assert (served.returncode, served.stderr.strip()) == (2, URL_IN_CREDENTIALS)
    assert PASSWORD not in checked.stdout + checked.stderr + served.stdout + served.stderr


def test_a_server_certificate_serve_cannot_load_is_refused_by_check_too(tmp_path: Path) -> None:
    (tmp_path / "server.pem").write_text("not a certificate\n", encoding="utf-8")
    (tmp_path / "server-key.pem").write_text("not a key\n", encoding="utf-8")
    config = write_config(
        tmp_path / "config.toml",
        {"port": 0, "tls_cert": str(tmp_path / "server.pem"), "tls_key": str(tmp_path / "server-key.pem")},
        storage={"data_dir": str(tmp_path / "data")},
    )

    checked = run("config", "check", str(config))
    served = run("serve", "--config", str(config))

    assert checked.returncode == served.returncode == 2
    assert checked.stderr.startswith("CONFIG: server.tls_cert / server.tls_key cannot be used (")
    assert checked.stderr.strip().endswith("make them with `ticket-daemon tls init`")
    assert served.stderr.strip() == checked.stderr.strip()


def test_passwords_inside_urls_and_secret_values_are_masked_wherever_they_appear(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "config.toml",
        {"auth_token": "tok-abcdef-123"},
        printers=[{"name": "bar", "uri": "tcp://admin:pw9876@10.0.0.5:9100"}],
    )
    refused = write_config(
        tmp_path / "refused.toml", {}, printers=[{"name": "bar", "uri": "cups://admin:pw9876@printhost/Queue"}]
    )

    checked = run("config", "check", str(config))
    refusal = run("config", "check", str(refused))

    assert checked.returncode == 0, checked.stderr
    assert 'uri = "tcp://admin:***@10.0.0.5:9100"' in checked.stdout
    assert refusal.returncode == 2
    assert refusal.stderr.startswith("VALIDATION: printers: Unsupported printer URI 'cups://admin:***@printhost/Queue'")
    for output in (checked.stdout, checked.stderr, refusal.stdout, refusal.stderr):
        assert "pw9876" not in output and "tok-abcdef-123" not in output
