"""Configuration as a shop's installer meets it: defaults that print out of the box, a TOML file, TICKET_*
environment variables and command-line flags, in that order of precedence; a mistake is one clear line."""

from __future__ import annotations

import argparse
import logging
import logging.handlers
import socket
from pathlib import Path

import platformdirs
import pytest

from ticket_daemon.config import ConfigError, load_settings
from ticket_daemon.logs import audit, configure_logging, flush_logs, installed_handlers
from ticket_daemon.service import console

CONFIG = """
[server]
port = 9001
queue_capacity = 50
auth_token = "file-token-123"
allowed_origins = ["https://pos.example.com"]

[storage]
data_dir = "{data_dir}"

[[printers]]
name = "caja"
uri = "tcp://10.0.0.5:9100"
model = "80mm EC-PM-80250"
aliases = ["front"]
default = true

[[printers]]
name = "cocina"
uri = "virtual://cocina"
"""


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "ticket-daemon.toml"
    path.write_text(CONFIG.format(data_dir=(tmp_path / "from-file").as_posix()), encoding="utf-8")
    return path


def test_defaults_print_out_of_the_box_on_localhost(isolated_env: None) -> None:
    settings = load_settings()
    server = settings.server
    assert (server.host, server.port, server.queue_capacity, server.rate_limit_per_minute) == (
        "127.0.0.1",
        8766,
        100,
        30,
    )
    assert server.auth_token.get_secret_value() == "" and server.dashboard_password_hash.get_secret_value() == ""
    assert (server.env, server.allowed_origins, server.max_frame_bytes, server.raw_policy) == (
        "local",
        [],
        4194304,
        "safe",
    )
    assert settings.storage.data_dir == Path(platformdirs.user_data_dir("ticket-daemon", appauthor=False))
    assert settings.printers == [] and settings.config_file is None


def test_file_then_environment_then_flags_each_win_over_the_one_before(
    isolated_env: None, config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from_file = load_settings(config_file)
    assert (from_file.server.port, from_file.server.queue_capacity, from_file.server.host) == (9001, 50, "127.0.0.1")
    assert [(p.name, p.uri, p.aliases, p.default) for p in from_file.printers] == [
        ("caja", "tcp://10.0.0.5:9100", ["front"], True),
        ("cocina", "virtual://cocina", [], False),
    ]

    monkeypatch.setenv("TICKET_SERVER__PORT", "9002")
    monkeypatch.setenv("TICKET_SERVER__HOST", "0.0.0.0")
    monkeypatch.setenv("TICKET_SERVER__AUTH_TOKEN", "env-token-456")
    from_env = load_settings(config_file)
    assert (from_env.server.port, from_env.server.host, from_env.server.queue_capacity) == (9002, "0.0.0.0", 50)
    assert from_env.server.auth_token.get_secret_value() == "env-token-456"

    from_flags = load_settings(
        config_file, {"server": {"port": 9003, "host": None}, "storage": {"data_dir": "/srv/td"}}
    )
    assert (from_flags.server.port, from_flags.server.host, from_flags.server.queue_capacity) == (9003, "0.0.0.0", 50)
    assert from_flags.storage.data_dir == Path("/srv/td")


def test_the_environment_can_name_the_config_file(
    isolated_env: None, config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TICKET_CONFIG_FILE", str(config_file))
    settings = load_settings()
    assert settings.server.port == 9001 and settings.config_file == config_file


def test_secrets_never_show_in_a_repr(isolated_env: None, config_file: Path) -> None:
    settings = load_settings(config_file)
    assert "file-token-123" not in repr(settings) and "file-token-123" not in str(settings.model_dump())


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            "[server]\nport = 70000\n",
            "VALIDATION: setting 'server.port': Input should be less than or equal to 65535",
        ),
        ("[server]\nprot = 1\n", "VALIDATION: setting 'server.prot' is not known"),
        ("[server]\nraw_policy = 'maybe'\n", "VALIDATION: setting 'server.raw_policy'"),
        ("[[printers]]\nname = 'x'\n", "VALIDATION: setting 'printers[0].uri' is required"),
        ("[server\nport = 1\n", "CONFIG: configuration file"),
        (
            "[server]\nauth_token = 12345678\n",
            "VALIDATION: setting 'server.auth_token': Input should be a valid string",
        ),
    ],
)
def test_a_bad_configuration_is_one_clear_line(isolated_env: None, tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_settings(path)
    line = str(error.value)
    assert line.startswith(expected), line
    assert "\n" not in line and "12345678" not in line


def test_serve_with_a_bad_config_prints_one_line_and_exits_2(
    isolated_env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.toml"
    args = argparse.Namespace(config=str(missing), host=None, port=None, data_dir=str(tmp_path))
    assert console.serve_main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("CONFIG: configuration file") and err.count("\n") == 1

    bad_printer = tmp_path / "printer.toml"
    bad_printer.write_text("[[printers]]\nname = 'p'\nuri = 'carrier-pigeon://roof'\n", encoding="utf-8")
    args = argparse.Namespace(config=str(bad_printer), host=None, port=None, data_dir=str(tmp_path))
    try:
        assert console.serve_main(args) == 2
    finally:
        _remove_our_handlers()
    err = capsys.readouterr().err
    assert (
        err.startswith("VALIDATION: printers: Unsupported printer URI 'carrier-pigeon://roof'") and err.count("\n") == 1
    )


def _remove_our_handlers() -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_ticket_daemon_handler", False):
            root.removeHandler(handler)
            handler.close()


def test_logs_go_to_a_rotating_file_with_secrets_masked(tmp_path: Path, restore_logging: None) -> None:
    log_file = configure_logging(level="INFO", data_dir=tmp_path, console=False, secrets=["configured-secret-789"])

    assert log_file == tmp_path / "logs" / "ticket-daemon.log"
    [handler] = [
        h
        for h in installed_handlers()
        if isinstance(h, logging.handlers.RotatingFileHandler) and h.baseFilename == str(log_file)
    ]
    assert (handler.maxBytes, handler.backupCount) == (5 * 1024 * 1024, 5)

    log = logging.getLogger("ticket_daemon.test")
    log.info("client sent auth_token=abc123def and password: hunter2")
    log.info('message {"auth_token": "quoted-456"} arrived')
    log.info("the configured value configured-secret-789 leaked into a message")
    audit("auth failure", client="till-1", address="127.0.0.1")
    flush_logs()

    text = log_file.read_text(encoding="utf-8")
    for secret in ("abc123def", "hunter2", "quoted-456", "configured-secret-789"):
        assert secret not in text
    assert "auth_token=***" in text
    assert "AUDIT: auth failure client=till-1 address=127.0.0.1" in text


def test_serve_on_a_port_already_in_use_says_so_and_exits_1(
    isolated_env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        args = argparse.Namespace(config=None, host="127.0.0.1", port=port, data_dir=str(tmp_path))
        assert console.serve_main(args) == 1
    err = capsys.readouterr().err
    assert "address already in use" in err
    assert f"EXECUTION: the daemon could not start on 127.0.0.1:{port}: address already in use" in err
