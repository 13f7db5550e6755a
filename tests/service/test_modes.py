"""Service-mode defaults: the production service serves the shop's network quietly, the test one stays local and
verbose, both keep their data under %PROGRAMDATA%\\<ServiceName>, and whatever the configuration says wins."""

from __future__ import annotations

from pathlib import Path

from service.helpers import write_config
from ticket_daemon.config import load_settings
from ticket_daemon.service.modes import exposure_warnings, with_service_defaults

PROGRAM_DATA = {"PROGRAMDATA": "/fake/ProgramData"}


def test_production_service_listens_on_the_network_with_quiet_logs() -> None:
    settings = with_service_defaults(load_settings(None), name="TicketServicio", environ=PROGRAM_DATA)
    assert (settings.server.env, settings.server.host, settings.server.log_level) == ("prod", "0.0.0.0", "WARNING")
    assert settings.storage.data_dir == Path("/fake/ProgramData/TicketServicio")


def test_test_service_stays_on_this_machine_with_verbose_logs() -> None:
    settings = with_service_defaults(load_settings(None), name="TicketServicioTest", environ=PROGRAM_DATA)
    assert (settings.server.env, settings.server.host, settings.server.log_level) == ("test", "127.0.0.1", "DEBUG")
    assert settings.storage.data_dir == Path("/fake/ProgramData/TicketServicioTest")


def test_what_the_configuration_sets_wins_over_the_service_defaults(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "config.toml", {"host": "192.168.1.20", "log_level": "INFO"}, storage={"data_dir": "D:/tickets"}
    )
    settings = with_service_defaults(load_settings(config), name="TicketServicio", environ=PROGRAM_DATA)
    assert (settings.server.env, settings.server.host, settings.server.log_level) == ("prod", "192.168.1.20", "INFO")
    assert settings.storage.data_dir == Path("D:/tickets")


def test_an_explicit_env_chooses_the_defaults_whatever_the_service_name(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.toml", {"env": "prod"})
    settings = with_service_defaults(load_settings(config), name="TicketServicioTest", environ={})
    assert (settings.server.host, settings.server.log_level) == ("0.0.0.0", "WARNING")
    assert settings.storage.data_dir == Path(r"C:\ProgramData") / "TicketServicioTest"


def test_listening_on_every_interface_by_default_is_never_silent() -> None:
    settings = with_service_defaults(load_settings(None), name="TicketServicio", environ=PROGRAM_DATA)
    warnings = exposure_warnings(settings)
    assert "all interfaces (0.0.0.0; the prod service's default" in warnings[0]
    assert 'server.host = "127.0.0.1"' in warnings[0]
    assert warnings[1].startswith("no server.auth_token is set")


def test_all_interfaces_with_a_token_gets_one_warning_and_localhost_none(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.toml", {"host": "0.0.0.0", "auth_token": "t0ken"})
    settings = with_service_defaults(load_settings(config), name="TicketServicio", environ=PROGRAM_DATA)
    assert [("all interfaces" in line) for line in exposure_warnings(settings)] == [True]
    local = with_service_defaults(load_settings(None), name="TicketServicioTest", environ=PROGRAM_DATA)
    assert exposure_warnings(local) == []
