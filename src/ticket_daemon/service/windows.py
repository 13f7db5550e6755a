"""``ticket-daemon service install|remove|start|stop|status|run``: the daemon as a native Windows service.

The service (names ``TicketServicio`` / ``TicketServicioTest``, as the original) runs the same daemon as
``ticket-daemon serve`` in a background thread (``background.py``) and tells the Service Control Manager the truth:
START_PENDING until the daemon listens, RUNNING, then STOP_PENDING with advancing checkpoints while the job in
progress finishes, STOPPED within the stop bound. A daemon that stops on its own reports a service-specific error,
so the recovery actions set at install ("restart on failure") bring it back.

pywin32 is imported only when a Windows sub-command runs, and every pywin32 module is passed in (:class:`Win32`), so
the tests drive this code against a fake SCM on Linux. Nothing here was run against a real SCM in this repository's
CI; see docs/service.md.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import ConfigError, load_settings
from .background import BackgroundDaemon, DaemonRunner
from .console import EXIT_CONFIG, EXIT_OK, EXIT_START_FAILED
from .modes import PROD_SERVICE_NAME, with_service_defaults

log = logging.getLogger(__name__)

DESCRIPTION = "Prints tickets from web POS apps on ESC/POS receipt printers (ticket-daemon)."
# Win32 error ERROR_SERVICE_SPECIFIC_ERROR: "the service has returned a service-specific error code"; with the
# failure-actions flag set, the SCM treats it as a failure and runs the recovery actions.
ERROR_SERVICE_SPECIFIC_ERROR = 1066
# Start-up to ready takes well under 1.5 s; the SCM is told to allow this much before it gives up.
START_TIMEOUT_SECONDS = 20.0
# While stopping, the SCM hears from us this often (a new checkpoint), so it never thinks we hung.
PROGRESS_INTERVAL_SECONDS = 1.0
# Beyond the daemon's own bound (shutdown grace + uvicorn's), the service reports STOPPED anyway. Windows gives
# services about 20 s at system shutdown; the defaults (10 s grace + 5 s) fit within it.
STOP_MARGIN_SECONDS = 3.0
# How long ``service stop`` waits for STOPPED: the default stop bound with room to spare.
STOP_WAIT_SECONDS = 60.0
# Recovery: restart after 5 s, three times; the failure count resets after a day without failures.
RESTART_DELAY_MS = 5_000
FAILURE_RESET_SECONDS = 24 * 60 * 60
_STATE_NAMES = {1: "stopped", 2: "start pending", 3: "stop pending", 4: "running", 5: "continue pending",
                6: "pause pending", 7: "paused"}  # fmt: skip

RunnerFactory = Callable[[], DaemonRunner]


@dataclass(frozen=True)
class Win32:
    """The pywin32 modules the service uses (real ones on Windows, a fake SCM in the tests)."""

    win32serviceutil: Any
    win32service: Any
    servicemanager: Any


class ServiceUnavailable(Exception):
    """pywin32 (or Windows) is not there; ``str()`` is one ``EXECUTION:`` sentence."""


def import_win32() -> Win32:
    try:
        modules = [importlib.import_module(name) for name in ("win32serviceutil", "win32service", "servicemanager")]
    except ImportError:
        raise ServiceUnavailable(
            "EXECUTION: Windows services need Windows with pywin32 installed (pip install pywin32); "
            "on Linux run 'ticket-daemon systemd-unit' instead"
        ) from None
    return Win32(*modules)


def daemon_runner_factory(name: str, config_file: str | None, environ: Mapping[str, str]) -> RunnerFactory:
    """Builds the real daemon for service ``name``: the config file, then the service-mode defaults."""

    def factory() -> DaemonRunner:
        settings = with_service_defaults(load_settings(config_file), name=name, environ=environ)
        return BackgroundDaemon(settings, console=False)

    return factory


def service_class(
    win32: Win32,
    *,
    name: str,
    runner_factory: RunnerFactory,
    stop_timeout: float | None = None,
) -> type:
    """The ``win32serviceutil.ServiceFramework`` subclass for service ``name`` (created here, so importing this module
    never needs pywin32). ``stop_timeout`` bounds the stop; by default the daemon's own bound plus a margin."""
    win32service = win32.win32service
    servicemanager = win32.servicemanager
    framework: type = win32.win32serviceutil.ServiceFramework

    class TicketService(framework):  # type: ignore[misc]
        _svc_name_ = name
        _svc_display_name_ = f"Ticket print service ({name})"
        _svc_description_ = DESCRIPTION

        def __init__(self, args: Any) -> None:
            super().__init__(args)
            self.stop_requested = threading.Event()
            self.runner: DaemonRunner | None = None
            self.stop_timeout = stop_timeout

        # --- controls from the SCM (its thread) ------------------------------------------------------------

        def SvcStop(self) -> None:
            self.ReportServiceStatus(win32service.SERVICE_STOP_PENDING, waitHint=_wait_hint_ms())
            self.stop_requested.set()
            if self.runner is not None:
                self.runner.request_stop()

        def SvcShutdown(self) -> None:  # the machine is shutting down: the same graceful stop
            self.SvcStop()

        # --- the service's own thread ------------------------------------------------------------------------

        def SvcRun(self) -> None:
            """Replaces the framework's version, which reports RUNNING before the daemon listens."""
            self.ReportServiceStatus(win32service.SERVICE_START_PENDING, waitHint=int(START_TIMEOUT_SECONDS * 1000))
            status = self._serve()
            if status == EXIT_OK:
                self.ReportServiceStatus(win32service.SERVICE_STOPPED)
            else:  # recovery actions restart the service
                self.ReportServiceStatus(
                    win32service.SERVICE_STOPPED, win32ExitCode=ERROR_SERVICE_SPECIFIC_ERROR, svcExitCode=status
                )

        def _serve(self) -> int:
            try:
                runner = runner_factory()
            except ConfigError as error:
                servicemanager.LogErrorMsg(f"{name} cannot start: {error}")
                return EXIT_CONFIG
            except Exception as error:  # anything else would leave the SCM waiting in START_PENDING
                log.exception("service %s could not be started", name)
                servicemanager.LogErrorMsg(f"{name} cannot start: {error}")
                return EXIT_START_FAILED
            self.runner = runner
            runner.start()
            if not runner.wait_ready(START_TIMEOUT_SECONDS):
                runner.request_stop()
                runner.join(PROGRESS_INTERVAL_SECONDS)
                servicemanager.LogErrorMsg(f"{name} did not start; see the log under its data folder")
                return runner.exit_status or EXIT_START_FAILED
            self.ReportServiceStatus(win32service.SERVICE_RUNNING)
            servicemanager.LogInfoMsg(f"{name} is running")
            while not self.stop_requested.is_set():
                if runner.join(PROGRESS_INTERVAL_SECONDS) and not self.stop_requested.is_set():
                    # stopped without being asked: a failure, which the recovery actions answer
                    servicemanager.LogErrorMsg(f"{name} stopped unexpectedly (status {runner.exit_status})")
                    return runner.exit_status or EXIT_START_FAILED
            return self._finish_stop(runner)

        def _finish_stop(self, runner: DaemonRunner) -> int:
            bound = (
                self.stop_timeout if self.stop_timeout is not None else runner.stop_bound_seconds + STOP_MARGIN_SECONDS
            )
            deadline = time.monotonic() + bound
            while not runner.join(min(PROGRESS_INTERVAL_SECONDS, max(0.0, deadline - time.monotonic()))):
                if time.monotonic() >= deadline:
                    # The thread is a daemon thread: it ends with the process, which the SCM now lets go.
                    servicemanager.LogWarningMsg(f"{name} did not stop within {bound:.0f} s; stopping anyway")
                    return EXIT_OK
                self.ReportServiceStatus(win32service.SERVICE_STOP_PENDING, waitHint=_wait_hint_ms())
            servicemanager.LogInfoMsg(f"{name} stopped")
            return EXIT_OK

    TicketService.__name__ = TicketService.__qualname__ = f"TicketService_{name}"
    return TicketService


def _wait_hint_ms() -> int:
    # The SCM expects the next checkpoint within the hint; we send one every PROGRESS_INTERVAL_SECONDS.
    return int(PROGRESS_INTERVAL_SECONDS * 1000 * 5)


# --- installing and controlling the service ---------------------------------------------------------------------


def command_line_args(name: str, config_file: str | None) -> str:
    """What the SCM passes to python.exe: ``-m ticket_daemon service run --name NAME [--config FILE]``."""
    args = f'-m ticket_daemon service run --name "{name}"'
    if config_file:
        args += f' --config "{Path(config_file).resolve()}"'
    return args


def install(win32: Win32, name: str, config_file: str | None, *, python: str = sys.executable) -> None:
    """Register the service: automatic start, and "restart on failure" recovery actions."""
    win32service = win32.win32service
    win32.win32serviceutil.InstallService(
        f"ticket_daemon.service.windows.{name}",  # the PythonClass value pythonservice.exe would read; unused here
        name,
        f"Ticket print service ({name})",
        startType=win32service.SERVICE_AUTO_START,
        exeName=python,
        exeArgs=command_line_args(name, config_file),
        description=DESCRIPTION,
    )
    set_recovery_actions(win32, name)


def set_recovery_actions(win32: Win32, name: str) -> None:
    """``sc failure NAME reset= 86400 actions= restart/5000/restart/5000/restart/5000`` and ``sc failureflag NAME 1``
    (the flag makes a stop with an error status count as a failure, not only a crash)."""
    win32service = win32.win32service
    manager = win32service.OpenSCManager(None, None, win32service.SC_MANAGER_ALL_ACCESS)
    try:
        handle = win32service.OpenService(manager, name, win32service.SERVICE_ALL_ACCESS)
        try:
            actions = [(win32service.SC_ACTION_RESTART, RESTART_DELAY_MS)] * 3
            win32service.ChangeServiceConfig2(
                handle,
                win32service.SERVICE_CONFIG_FAILURE_ACTIONS,
                {"ResetPeriod": FAILURE_RESET_SECONDS, "RebootMsg": None, "Command": None, "Actions": actions},
            )
            win32service.ChangeServiceConfig2(handle, win32service.SERVICE_CONFIG_FAILURE_ACTIONS_FLAG, True)
        finally:
            win32service.CloseServiceHandle(handle)
    finally:
        win32service.CloseServiceHandle(manager)


def run_dispatcher(win32: Win32, name: str, config_file: str | None, environ: Mapping[str, str]) -> None:
    """``service run``: what the SCM starts. Hands the main thread to the service control dispatcher."""
    cls = service_class(win32, name=name, runner_factory=daemon_runner_factory(name, config_file, environ))
    win32.servicemanager.Initialize()
    win32.servicemanager.PrepareToHostSingle(cls)
    win32.servicemanager.StartServiceCtrlDispatcher()


def state_name(state: int) -> str:
    return _STATE_NAMES.get(state, f"state {state}")


def service_main(
    args: argparse.Namespace, *, win32: Win32 | None = None, environ: Mapping[str, str] | None = None
) -> int:
    """Entry point of ``ticket-daemon service ACTION [--name NAME] [--config FILE]``."""
    name: str = getattr(args, "name", None) or PROD_SERVICE_NAME
    config_file: str | None = getattr(args, "config", None)
    action: str = args.action
    try:
        modules = win32 if win32 is not None else import_win32()
    except ServiceUnavailable as error:
        print(str(error), file=sys.stderr)
        return EXIT_CONFIG
    util = modules.win32serviceutil
    try:
        if action == "install":
            if config_file is not None:
                load_settings(config_file)  # refuse to install a service that could not start
            install(modules, name, config_file)
            print(f"installed service {name} (automatic start, restarts on failure); start it with "
                  f"'ticket-daemon service start --name {name}'")  # fmt: skip
        elif action == "remove":
            util.RemoveService(name)
            print(f"removed service {name}")
        elif action == "start":
            util.StartService(name)
            util.WaitForServiceStatus(name, modules.win32service.SERVICE_RUNNING, START_TIMEOUT_SECONDS)
            print(f"service {name} is running")
        elif action == "stop":
            util.StopService(name)
            util.WaitForServiceStatus(name, modules.win32service.SERVICE_STOPPED, STOP_WAIT_SECONDS)
            print(f"service {name} is stopped")
        elif action == "status":
            print(f"service {name}: {state_name(int(util.QueryServiceStatus(name)[1]))}")
        else:  # "run", started by the SCM
            run_dispatcher(modules, name, config_file, environ if environ is not None else os.environ)
    except ConfigError as error:
        print(str(error), file=sys.stderr)
        return EXIT_CONFIG
    except Exception as error:  # pywintypes.error: (winerror, function, message)
        print(f"EXECUTION: service {action} failed for {name}: {_win32_message(error)}", file=sys.stderr)
        return EXIT_START_FAILED
    return EXIT_OK


def _win32_message(error: Exception) -> str:
    winerror = getattr(error, "winerror", None)
    message = getattr(error, "strerror", None) or str(error)
    if winerror == 5:  # ERROR_ACCESS_DENIED
        return f"{message} (run the command from an Administrator prompt)"
    if winerror == 1060:  # ERROR_SERVICE_DOES_NOT_EXIST
        return f"{message} (install it first with 'ticket-daemon service install')"
    return str(message)
