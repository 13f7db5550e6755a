"""The administrator's commands: ``--version``, ``config check``, ``status``, ``systemd-unit``, and ``service`` on a
machine without pywin32. Run as the user runs them (``python -m ticket_daemon …``) where the process matters."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.harness import DaemonLauncher
from service.helpers import write_config
from ticket_daemon import __version__
from ticket_daemon.commands.main import main
from ticket_daemon.service.systemd import render_unit


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("TICKET_")}
    return subprocess.run(
        [sys.executable, "-m", "ticket_daemon", *args], capture_output=True, text=True, timeout=60, check=False, env=env
    )


@pytest.fixture
def daemons(tmp_path: Path) -> Iterator[DaemonLauncher]:
    launcher = DaemonLauncher(tmp_path)
    yield launcher
    launcher.stop_all()


def test_version_names_the_program_and_its_version() -> None:
    result = cli("--version")
    assert (result.returncode, result.stdout.strip()) == (0, f"ticket-daemon {__version__}")


def test_config_check_prints_the_effective_settings_with_secrets_masked(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "config.toml",
        {"port": 9100, "auth_token": "s3cret-till-token", "env": "prod"},
        printers=[{"name": "bar", "uri": "tcp://10.0.0.5:9100", "aliases": ["barra"]}],
    )
    result = cli("config", "check", str(config))

    assert result.returncode == 0, result.stderr
    assert "s3cret-till-token" not in result.stdout + result.stderr
    assert 'auth_token = "***"' in result.stdout
    assert 'dashboard_password_hash = ""' in result.stdout  # not set, and visibly so
    assert "port = 9100" in result.stdout
    assert "shutdown_grace_seconds = 10.0" in result.stdout  # defaults are filled in
    assert 'uri = "tcp://10.0.0.5:9100"' in result.stdout and 'aliases = ["barra"]' in result.stdout
    # What it prints is itself a configuration the daemon accepts.
    reprinted = tmp_path / "effective.toml"
    reprinted.write_text(result.stdout.replace('"***"', '"another-token"'), encoding="utf-8")
    assert cli("config", "check", str(reprinted)).returncode == 0


def test_config_check_names_the_mistake_in_one_line(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.toml", {"prot": 9100})
    result = cli("config", "check", str(config))
    assert result.returncode == 2
    assert result.stderr.strip() == "VALIDATION: setting 'server.prot' is not known (check its spelling and section)"
    assert result.stdout == ""


def test_config_check_refuses_a_printer_uri_the_daemon_could_not_use(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.toml", {}, printers=[{"name": "bar", "uri": "gopher://bar"}])
    result = cli("config", "check", str(config))
    assert result.returncode == 2
    assert result.stderr.startswith("VALIDATION: printers:")


def test_config_check_accepts_a_printers_own_paper(tmp_path: Path) -> None:
    paper = {"paper_width": 58, "dpi": 203, "code_table": "PC850", "has_qr": True}
    config = write_config(tmp_path / "config.toml", {}, printers=[{"name": "bar", "uri": "virtual://bar", **paper}])
    result = cli("config", "check", str(config))
    assert result.returncode == 0, result.stderr
    for line in ("paper_width = 58", "dpi = 203", 'code_table = "PC850"', "has_qr = true"):
        assert line in result.stdout.splitlines()


@pytest.mark.parametrize(
    ("paper", "expected"),
    [
        ({"paper_width": 57}, "VALIDATION: printers: printer 'bar': paper_width "),
        ({"dpi": 204}, "VALIDATION: printers: printer 'bar': dpi "),
        ({"code_table": "CP9999"}, "VALIDATION: printers: printer 'bar': code_table "),
        ({"has_qr": "sometimes"}, "VALIDATION: setting 'printers[0].has_qr': "),
    ],
)
def test_config_check_names_a_bad_paper_value_in_one_line(
    tmp_path: Path, paper: dict[str, object], expected: str
) -> None:
    config = write_config(tmp_path / "config.toml", {}, printers=[{"name": "bar", "uri": "virtual://bar", **paper}])
    result = cli("config", "check", str(config))
    assert result.returncode == 2
    assert result.stderr.startswith(expected), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and result.stdout == ""


def test_config_check_compares_printer_names_case_insensitively_one_way(tmp_path: Path) -> None:
    # casefold, not lower: "Straße" and "STRASSE" are one name to a client typing either.
    printers = [{"name": "Straße", "uri": "virtual://a"}, {"name": "STRASSE", "uri": "virtual://b"}]
    result = cli("config", "check", str(write_config(tmp_path / "config.toml", {}, printers=printers)))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "VALIDATION: printers: Printer name or alias 'STRASSE' is used by both 'Straße' and 'STRASSE'"
    )


def test_status_shows_a_running_daemons_health(daemons: DaemonLauncher, capsys: pytest.CaptureFixture[str]) -> None:
    running = daemons.start()
    assert main(["status", "--url", running.http_url]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["status", "ok"]
    assert f"address   {running.http_url}/" in out
    assert f"version   {__version__} (env local)" in out
    assert "queue     0 of 100 jobs (0.0%)" in out
    assert "workers running" in out


def test_status_says_when_no_daemon_answers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with_port = write_config(tmp_path / "config.toml", {"port": 1})  # nothing listens on port 1
    assert main(["status", "--config", str(with_port), "--timeout", "5"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("EXECUTION: no ticket-daemon answers at http://127.0.0.1:1/health")


def test_service_commands_on_linux_point_to_systemd() -> None:
    result = cli("service", "install")
    assert result.returncode == 2
    assert "pywin32" in result.stderr and "systemd-unit" in result.stderr
    assert "Traceback" not in result.stderr


def unit_keys(text: str) -> dict[str, list[str]]:
    keys: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            keys.setdefault(key, []).append(value)
    return keys


def test_systemd_unit_restarts_on_failure_and_is_hardened(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.toml", {"shutdown_grace_seconds": 20})
    result = cli("systemd-unit", "--config", str(config))
    assert result.returncode == 0, result.stderr
    keys = unit_keys(result.stdout)

    exec_start = keys["ExecStart"][0]
    assert exec_start.startswith(f"{sys.executable} -m ticket_daemon serve --data-dir %S/ticket-daemon")
    assert exec_start.endswith(f"--config {config.resolve()}")
    assert keys["Restart"] == ["on-failure"]
    assert keys["KillSignal"] == ["SIGTERM"]
    assert int(keys["TimeoutStopSec"][0]) > 20  # longer than the daemon's own graceful stop
    assert keys["StateDirectory"] == ["ticket-daemon"]
    assert keys["SupplementaryGroups"] == ["dialout lp"]
    for hardening in ("NoNewPrivileges", "PrivateTmp", "DynamicUser"):
        assert keys[hardening] == ["yes"]
    assert keys["ProtectSystem"] == ["strict"]
    assert keys["WantedBy"] == ["multi-user.target"]


def test_user_unit_leaves_out_what_only_the_system_manager_can_do() -> None:
    keys = unit_keys(render_unit(user=True, config_file=None, grace_seconds=10))
    assert keys["WantedBy"] == ["default.target"]
    assert keys["Restart"] == ["on-failure"] and keys["NoNewPrivileges"] == ["yes"]
    for system_only in ("DynamicUser", "SupplementaryGroups", "ProtectSystem", "PrivateTmp"):
        assert system_only not in keys


def test_systemd_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        if os.environ.get("CI"):
            pytest.fail("systemd-analyze must be installed in CI (scripts/install-system-deps.sh)")
        pytest.skip("systemd-analyze is not installed")
    unit = tmp_path / "ticket-daemon.service"
    unit.write_text(render_unit(user=False, config_file=None, grace_seconds=10), encoding="utf-8")
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "ticket-daemon.service" not in result.stderr, result.stderr  # no warning about our unit


def test_systemd_unit_install_writes_the_file_and_says_what_to_run_next(tmp_path: Path) -> None:
    result = cli("systemd-unit", "--user", "--install", "--unit-dir", str(tmp_path / "units"))
    assert result.returncode == 0, result.stderr
    written = (tmp_path / "units" / "ticket-daemon.service").read_text(encoding="utf-8")
    assert "WantedBy=default.target" in written
    assert "systemctl --user daemon-reload && systemctl --user enable --now ticket-daemon" in result.stdout
