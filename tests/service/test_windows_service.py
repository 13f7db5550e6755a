"""The Windows service, driven through a faithful fake of pywin32 and the SCM (``fake_scm.py``): what an
administrator sees in services.msc (states, recovery), and what the shop sees (the job in progress still prints)."""

from __future__ import annotations

import argparse
import threading
from pathlib import Path
from types import MethodType
from typing import Any

import pytest

from server.harness import PrinterFarm, WsClient, printed_jobs, ticket
from service.fake_scm import (
    SC_ACTION_RESTART,
    SERVICE_AUTO_START,
    SERVICE_CONTROL_STOP,
    SERVICE_RUNNING,
    SERVICE_START_PENDING,
    SERVICE_STOP_PENDING,
    SERVICE_STOPPED,
    FakeScm,
)
from service.helpers import WAIT_S, get_json, wait_until, write_config
from ticket_daemon.service.windows import (
    ERROR_SERVICE_SPECIFIC_ERROR,
    daemon_runner_factory,
    service_class,
    service_main,
)


def real_service(scm: FakeScm, name: str, config: Path | None, program_data: Path) -> type:
    factory = daemon_runner_factory(name, str(config) if config else None, {"PROGRAMDATA": str(program_data)})
    return service_class(scm.modules(), name=name, runner_factory=factory)


def daemon_url(scm: FakeScm, name: str) -> str:
    handler = scm.services[name].handler
    assert isinstance(handler, MethodType), "the service registered its own method as control handler"
    service: Any = handler.__self__
    return f"http://127.0.0.1:{service.runner.server.bound_port()}"


def test_service_reports_running_only_when_the_daemon_answers_and_stops_cleanly(tmp_path: Path) -> None:
    scm = FakeScm()
    config = write_config(tmp_path / "config.toml", {"port": 0})
    name = "TicketServicioTest"
    scm.launch(real_service(scm, name, config, tmp_path / "ProgramData"))

    assert scm.wait_for(name, SERVICE_RUNNING, WAIT_S)
    health = get_json(daemon_url(scm, name) + "/health")  # RUNNING means it already answers
    assert health["status"] == "ok"
    assert health["build"]["env"] == "test"

    scm.control(name, SERVICE_CONTROL_STOP)
    assert scm.wait_for(name, SERVICE_STOPPED, WAIT_S)
    assert scm.states(name) == [SERVICE_START_PENDING, SERVICE_RUNNING, SERVICE_STOP_PENDING, SERVICE_STOPPED]
    final = scm.services[name].reports[-1]
    assert (final.win32_exit_code, final.service_exit_code) == (0, 0)
    assert scm.violations == []
    # Data and logs in %PROGRAMDATA%\<ServiceName>\ as the original.
    log_file = tmp_path / "ProgramData" / name / "logs" / "ticket-daemon.log"
    assert "ticket-daemon" in log_file.read_text(encoding="utf-8")
    assert ("info", f"{name} stopped") in scm.events


def test_stopping_the_service_during_a_job_lets_the_job_finish(tmp_path: Path, printer_farm: PrinterFarm) -> None:
    uri, out = printer_farm.start("slow", bytes_per_second=60)
    config = write_config(
        tmp_path / "config.toml",
        {"port": 0, "shutdown_grace_seconds": 20},
        printers=[{"name": "slow", "uri": uri}],
    )
    scm = FakeScm()
    name = "TicketServicioTest"
    scm.launch(real_service(scm, name, config, tmp_path / "ProgramData"))
    assert scm.wait_for(name, SERVICE_RUNNING, WAIT_S)
    client = WsClient(daemon_url(scm, name).replace("http", "ws") + "/ws")
    assert client.recv()["tipo"] == "info"
    assert client.request(ticket("at-the-printer", "LAST ORDER BEFORE CLOSING"))["tipo"] == "ack"
    at_printer = {"tipo": "job_status", "id": "at-the-printer"}
    wait_until(lambda: client.request(at_printer).get("status") == "printing", "the job to reach the printer")

    scm.control(name, SERVICE_CONTROL_STOP)
    result = client.recv(timeout=30)
    close_code = client.close_code(timeout=30)
    assert scm.wait_for(name, SERVICE_STOPPED, 30)

    assert (result["id"], result["status"]) == ("at-the-printer", "success")
    assert close_code == 1001
    assert b"LAST ORDER BEFORE CLOSING" in printed_jobs(out)[0]
    assert scm.states(name)[-2:] == [SERVICE_STOP_PENDING, SERVICE_STOPPED]
    assert scm.violations == []  # STOP_PENDING checkpoints kept the SCM informed while the job printed


class FakeRunner:
    """A daemon that starts at once and then either hangs on stop or dies by itself."""

    def __init__(self, *, hang_on_stop: bool = False, dies_with: int | None = None) -> None:
        self.hang_on_stop = hang_on_stop
        self.dies_with = dies_with
        self.stopped = threading.Event()
        self.stop_requests = 0

    @property
    def exit_status(self) -> int | None:
        return self.dies_with if self.dies_with is not None else (0 if self.stopped.is_set() else None)

    @property
    def stop_bound_seconds(self) -> float:
        return 0.2

    def start(self) -> None:
        if self.dies_with is not None:
            self.stopped.set()

    def wait_ready(self, timeout: float) -> bool:
        return True

    def request_stop(self) -> None:
        self.stop_requests += 1
        if not self.hang_on_stop:
            self.stopped.set()

    def join(self, timeout: float) -> bool:
        return self.stopped.wait(timeout)


def test_a_stop_that_hangs_is_cut_short_within_the_scm_timeout() -> None:
    scm = FakeScm()
    runner = FakeRunner(hang_on_stop=True)
    cls = service_class(scm.modules(), name="TicketServicio", runner_factory=lambda: runner, stop_timeout=1.5)
    scm.launch(cls)
    assert scm.wait_for("TicketServicio", SERVICE_RUNNING, WAIT_S)

    scm.control("TicketServicio", SERVICE_CONTROL_STOP)
    assert scm.wait_for("TicketServicio", SERVICE_STOPPED, WAIT_S)

    assert runner.stop_requests == 1
    assert scm.states("TicketServicio")[-2:] == [SERVICE_STOP_PENDING, SERVICE_STOPPED]
    assert any(kind == "warning" and "did not stop within" in message for kind, message in scm.events)
    assert scm.violations == []


def test_a_daemon_that_dies_is_reported_as_failed_so_recovery_restarts_it(tmp_path: Path) -> None:
    scm = FakeScm()
    assert (
        service_main(argparse.Namespace(action="install", name="TicketServicio", config=None), win32=scm.modules()) == 0
    )
    cls = service_class(scm.modules(), name="TicketServicio", runner_factory=lambda: FakeRunner(dies_with=1))
    scm.launch(cls)
    assert scm.wait_for("TicketServicio", SERVICE_STOPPED, WAIT_S)

    final = scm.services["TicketServicio"].reports[-1]
    assert (final.win32_exit_code, final.service_exit_code) == (ERROR_SERVICE_SPECIFIC_ERROR, 1)
    assert scm.services["TicketServicio"].recovery_runs == 1
    assert any(kind == "error" and "stopped unexpectedly" in message for kind, message in scm.events)
    assert scm.violations == []


def test_a_bad_configuration_fails_the_start_with_the_reason_in_the_event_log(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.toml", {"port": 0, "queue_capacity": 0})
    scm = FakeScm()
    scm.launch(real_service(scm, "TicketServicio", config, tmp_path / "ProgramData"))
    assert scm.wait_for("TicketServicio", SERVICE_STOPPED, WAIT_S)

    assert scm.states("TicketServicio") == [SERVICE_START_PENDING, SERVICE_STOPPED]
    assert scm.services["TicketServicio"].reports[-1].win32_exit_code == ERROR_SERVICE_SPECIFIC_ERROR
    [(_kind, message)] = [event for event in scm.events if event[0] == "error"]
    assert "queue_capacity" in message and message.startswith("TicketServicio cannot start: VALIDATION:")
    assert scm.violations == []


def test_install_registers_automatic_start_and_restart_on_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scm = FakeScm()
    config = write_config(tmp_path / "config.toml", {"port": 0})
    args = argparse.Namespace(action="install", name="TicketServicioTest", config=str(config))
    assert service_main(args, win32=scm.modules()) == 0

    installed = scm.services["TicketServicioTest"]
    assert installed.start_type == SERVICE_AUTO_START
    assert "-m ticket_daemon service run" in installed.command_line
    assert '--name "TicketServicioTest"' in installed.command_line
    assert f'--config "{config.resolve()}"' in installed.command_line
    assert installed.failure_actions is not None
    assert [kind for kind, _ in installed.failure_actions["Actions"]] == [SC_ACTION_RESTART] * 3
    assert installed.failure_actions_on_non_crash
    assert "installed service TicketServicioTest" in capsys.readouterr().out

    status = argparse.Namespace(action="status", name="TicketServicioTest", config=None)
    assert service_main(status, win32=scm.modules()) == 0
    assert capsys.readouterr().out.strip() == "service TicketServicioTest: stopped"

    remove = argparse.Namespace(action="remove", name="TicketServicioTest", config=None)
    assert service_main(remove, win32=scm.modules()) == 0
    assert service_main(status, win32=scm.modules()) == 1
    assert "install it first" in capsys.readouterr().err


def test_installing_with_a_broken_configuration_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scm = FakeScm()
    config = write_config(tmp_path / "config.toml", {"port": "not a port"})
    args = argparse.Namespace(action="install", name="TicketServicio", config=str(config))
    assert service_main(args, win32=scm.modules()) == 2
    assert capsys.readouterr().err.startswith("VALIDATION: setting 'server.port'")
    assert scm.services == {}


def test_the_scm_runs_the_service_through_the_dispatcher_and_start_stop_commands(tmp_path: Path) -> None:
    scm = FakeScm()
    config = write_config(tmp_path / "config.toml", {"port": 0, "env": "local"})
    run = argparse.Namespace(action="run", name="TicketServicioTest", config=str(config))
    environ = {"PROGRAMDATA": str(tmp_path / "ProgramData")}
    # ``service run`` is what the SCM launches; it blocks in the dispatcher until the service stops.
    dispatcher = threading.Thread(target=service_main, args=(run,), kwargs={"win32": scm.modules(), "environ": environ})
    dispatcher.start()
    try:
        assert scm.wait_for("TicketServicioTest", SERVICE_RUNNING, WAIT_S)
        assert get_json(daemon_url(scm, "TicketServicioTest") + "/health")["build"]["env"] == "local"
        stop = argparse.Namespace(action="stop", name="TicketServicioTest", config=None)
        assert service_main(stop, win32=scm.modules()) == 0
    finally:
        if scm.services["TicketServicioTest"].state == SERVICE_RUNNING:
            scm.control("TicketServicioTest", SERVICE_CONTROL_STOP)
        dispatcher.join(timeout=30)
    assert not dispatcher.is_alive()
    assert scm.states("TicketServicioTest")[-1] == SERVICE_STOPPED
    assert scm.violations == []
