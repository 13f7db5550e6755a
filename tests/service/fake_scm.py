"""A faithful fake of pywin32's service modules and of the Windows Service Control Manager they talk to.

``FakeScm().modules()`` returns a ``Win32`` bundle (``win32serviceutil``, ``win32service``, ``servicemanager``) with
the real constants and function signatures. The SCM side keeps each service's configuration and emulates its state
machine the way Windows documents it (SERVICE_STATUS, "Service State Transitions"):

- StartService puts the service in START_PENDING; the service then reports progress, RUNNING, STOP_PENDING, STOPPED.
- Only legal transitions are accepted; a pending state repeated must carry a larger checkpoint; no control is accepted
  while START_PENDING; a pending state must be refreshed within its wait hint, or the SCM considers the service hung.
- A stop control is only sent to a RUNNING service that accepts it (else error 1061).
- A service that stops with a non-zero exit code, while its failure-actions flag is set, counts as failed and the
  recovery actions run; so does a service that exits without reporting STOPPED.

``ServiceFramework`` reproduces pywin32's ``win32serviceutil.ServiceFramework`` (its ReportServiceStatus checkpoint
and accepted-controls logic, its control dispatch, and SvcRun). Every breach of the rules above is recorded in
``FakeScm.violations`` (the tests assert it stays empty) instead of being raised inside the service's thread.
"""

from __future__ import annotations

import threading
import time
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ticket_daemon.service.windows import Win32

# win32service constants (winsvc.h)
SERVICE_STOPPED = 1
SERVICE_START_PENDING = 2
SERVICE_STOP_PENDING = 3
SERVICE_RUNNING = 4
SERVICE_WIN32_OWN_PROCESS = 0x10
SERVICE_ACCEPT_STOP = 0x1
SERVICE_ACCEPT_PAUSE_CONTINUE = 0x2
SERVICE_ACCEPT_SHUTDOWN = 0x4
SERVICE_CONTROL_STOP = 1
SERVICE_CONTROL_INTERROGATE = 4
SERVICE_CONTROL_SHUTDOWN = 5
SERVICE_AUTO_START = 2
SERVICE_DEMAND_START = 3
SC_MANAGER_ALL_ACCESS = 0xF003F
SERVICE_ALL_ACCESS = 0xF01FF
SERVICE_CONFIG_DESCRIPTION = 1
SERVICE_CONFIG_FAILURE_ACTIONS = 2
SERVICE_CONFIG_FAILURE_ACTIONS_FLAG = 4
SC_ACTION_NONE = 0
SC_ACTION_RESTART = 1
# winerror
ERROR_SERVICE_DOES_NOT_EXIST = 1060
ERROR_SERVICE_CANNOT_ACCEPT_CTRL = 1061
ERROR_SERVICE_NOT_ACTIVE = 1062
ERROR_SERVICE_EXISTS = 1073
ERROR_SERVICE_ALREADY_RUNNING = 1056
ERROR_SERVICE_SPECIFIC_ERROR = 1066

_LEGAL = {
    SERVICE_STOPPED: {SERVICE_START_PENDING},
    SERVICE_START_PENDING: {SERVICE_START_PENDING, SERVICE_RUNNING, SERVICE_STOP_PENDING, SERVICE_STOPPED},
    SERVICE_RUNNING: {SERVICE_RUNNING, SERVICE_STOP_PENDING, SERVICE_STOPPED},
    SERVICE_STOP_PENDING: {SERVICE_STOP_PENDING, SERVICE_STOPPED},
}
_PENDING = {SERVICE_START_PENDING, SERVICE_STOP_PENDING}


class Win32Error(Exception):
    """pywintypes.error: (winerror, funcname, strerror)."""

    def __init__(self, winerror: int, funcname: str, strerror: str) -> None:
        super().__init__(winerror, funcname, strerror)
        self.winerror, self.funcname, self.strerror = winerror, funcname, strerror


@dataclass
class Report:
    state: int
    accepted: int
    win32_exit_code: int
    service_exit_code: int
    checkpoint: int
    wait_hint_ms: int
    at: float


@dataclass
class InstalledService:
    name: str
    display_name: str
    command_line: str
    start_type: int
    description: str | None = None
    failure_actions: dict[str, Any] | None = None
    failure_actions_on_non_crash: bool = False
    state: int = SERVICE_STOPPED
    reports: list[Report] = field(default_factory=list)
    handler: Callable[[int, int, Any], Any] | None = None
    recovery_runs: int = 0
    thread: threading.Thread | None = None


class FakeScm:
    def __init__(self) -> None:
        self.services: dict[str, InstalledService] = {}
        self.violations: list[str] = []
        self.events: list[tuple[str, str]] = []  # (kind, message) written to the event log
        self.hosted: type | None = None  # PrepareToHostSingle
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)

    # --- the SCM's side -----------------------------------------------------------------------------------------

    def ensure_installed(self, name: str) -> InstalledService:
        if name not in self.services:
            self.services[name] = InstalledService(name, name, f"fake {name}", SERVICE_DEMAND_START)
        return self.services[name]

    def launch(self, cls: type, *, in_thread: bool = True) -> InstalledService:
        """StartService: START_PENDING, then the hosted class's SvcRun on the service's own thread."""
        service = self.ensure_installed(str(cls._svc_name_))  # type: ignore[attr-defined]
        with self.lock:
            if service.state != SERVICE_STOPPED:
                raise Win32Error(ERROR_SERVICE_ALREADY_RUNNING, "StartService", "An instance is already running.")
            service.state = SERVICE_START_PENDING
            service.reports.clear()
            self.changed.notify_all()
        if in_thread:
            service.thread = threading.Thread(target=self._host, args=(cls, service), daemon=True)
            service.thread.start()
        else:
            self._host(cls, service)
        return service

    def _host(self, cls: type, service: InstalledService) -> None:
        # What pythonservice.exe / servicemanager do around SvcRun: an exception or a return without STOPPED is
        # reported as STOPPED by the host (an exception with an error code).
        error = 0
        try:
            instance = cls([service.name])
            instance.SvcRun()
        except Exception as exc:  # recorded: a service must not let exceptions out of SvcRun
            self.violations.append(f"{service.name}: SvcRun raised {exc!r}")
            error = ERROR_SERVICE_SPECIFIC_ERROR
        with self.lock:
            if service.state != SERVICE_STOPPED:
                self._apply(service, (SERVICE_WIN32_OWN_PROCESS, SERVICE_STOPPED, 0, error, 0, 0, 0))

    def control(self, name: str, control: int) -> Any:
        service = self.services.get(name)
        if service is None:
            raise Win32Error(ERROR_SERVICE_DOES_NOT_EXIST, "ControlService", "The specified service does not exist.")
        with self.lock:
            last = service.reports[-1] if service.reports else None
            accepted = last.accepted if last else 0
            if service.state == SERVICE_STOPPED:
                raise Win32Error(ERROR_SERVICE_NOT_ACTIVE, "ControlService", "The service has not been started.")
            if control == SERVICE_CONTROL_STOP and not (
                service.state == SERVICE_RUNNING and accepted & SERVICE_ACCEPT_STOP
            ):
                message = "The service cannot accept control messages at this time."
                raise Win32Error(ERROR_SERVICE_CANNOT_ACCEPT_CTRL, "ControlService", message)
            handler = service.handler
        assert handler is not None, "the service never registered a control handler"
        return handler(control, 0, None)

    def wait_for(self, name: str, state: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self.lock:
            while self.services[name].state != state:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self.changed.wait(remaining)
            return True

    def states(self, name: str) -> list[int]:
        """The states the service reported, consecutive repeats collapsed."""
        collapsed: list[int] = []
        for report in self.services[name].reports:
            if not collapsed or collapsed[-1] != report.state:
                collapsed.append(report.state)
        return collapsed

    def set_status(self, handle: str, status: tuple[int, ...]) -> None:
        with self.lock:
            service = self.services.get(handle)
            if service is None:
                raise Win32Error(6, "SetServiceStatus", "The handle is invalid.")
            self._apply(service, status)

    def _apply(self, service: InstalledService, status: tuple[int, ...]) -> None:
        if len(status) != 7:
            self.violations.append(f"{service.name}: SERVICE_STATUS must have 7 fields, got {status!r}")
            return
        _type, state, accepted, win32_exit, service_exit, checkpoint, wait_hint = status
        now = time.monotonic()
        previous = service.reports[-1] if service.reports else None
        if service.state == SERVICE_STOPPED:
            return  # the handle is closed once STOPPED is reported; later reports are ignored (real: an error)
        if state not in _LEGAL[service.state]:
            self.violations.append(f"{service.name}: illegal transition {service.state} -> {state}")
        if state == SERVICE_START_PENDING and accepted != 0:
            self.violations.append(f"{service.name}: controls accepted while START_PENDING")
        if previous is not None and previous.state in _PENDING:
            if (now - previous.at) * 1000 > previous.wait_hint_ms:
                self.violations.append(
                    f"{service.name}: no progress within the wait hint ({previous.wait_hint_ms} ms) in state "
                    f"{previous.state}: the SCM would report the service as hung"
                )
            if state == previous.state and checkpoint <= previous.checkpoint:
                self.violations.append(f"{service.name}: checkpoint did not advance in state {state}")
        if state in (SERVICE_RUNNING, SERVICE_STOPPED) and checkpoint != 0:
            self.violations.append(f"{service.name}: checkpoint must be 0 in state {state}")
        service.reports.append(Report(state, accepted, win32_exit, service_exit, checkpoint, wait_hint, now))
        service.state = state
        actions = service.failure_actions["Actions"] if service.failure_actions else []
        restarts = any(kind == SC_ACTION_RESTART for kind, _ in actions)
        if state == SERVICE_STOPPED and win32_exit != 0 and service.failure_actions_on_non_crash and restarts:
            service.recovery_runs += 1  # the SCM would restart it after the configured delay
        self.changed.notify_all()

    # --- the pywin32 modules --------------------------------------------------------------------------------------

    def modules(self) -> Win32:
        return Win32(self._win32serviceutil(), self._win32service(), self._servicemanager())

    def _win32service(self) -> types.ModuleType:
        module = types.ModuleType("win32service")
        for name, value in globals().items():
            if name.startswith(("SERVICE_", "SC_")):
                setattr(module, name, value)
        module.error = Win32Error  # type: ignore[attr-defined]
        scm = self

        def SetServiceStatus(handle: str, status: tuple[int, ...]) -> None:
            scm.set_status(handle, status)

        def OpenSCManager(machine: str | None, database: str | None, access: int) -> str:
            return "scm"

        def OpenService(manager: str, name: str, access: int) -> str:
            if name not in scm.services:
                raise Win32Error(ERROR_SERVICE_DOES_NOT_EXIST, "OpenService", "The specified service does not exist.")
            return name

        def ChangeServiceConfig2(handle: str, level: int, value: Any) -> None:
            service = scm.services[handle]
            if level == SERVICE_CONFIG_FAILURE_ACTIONS:
                assert set(value) == {"ResetPeriod", "RebootMsg", "Command", "Actions"}, value
                service.failure_actions = value
            elif level == SERVICE_CONFIG_FAILURE_ACTIONS_FLAG:
                service.failure_actions_on_non_crash = bool(value)
            elif level == SERVICE_CONFIG_DESCRIPTION:
                service.description = value
            else:
                raise Win32Error(87, "ChangeServiceConfig2", "The parameter is incorrect.")

        def CloseServiceHandle(handle: str) -> None:
            return None

        for function in (SetServiceStatus, OpenSCManager, OpenService, ChangeServiceConfig2, CloseServiceHandle):
            setattr(module, function.__name__, function)
        return module

    def _servicemanager(self) -> types.ModuleType:
        module = types.ModuleType("servicemanager")
        scm = self

        def RegisterServiceCtrlHandler(name: str, handler: Callable[..., Any], extended: bool = False) -> str:
            scm.ensure_installed(name).handler = handler
            return name

        def log(kind: str) -> Callable[[str], None]:
            return lambda message: scm.events.append((kind, message))

        def PrepareToHostSingle(cls: type) -> None:
            scm.hosted = cls

        def StartServiceCtrlDispatcher() -> None:
            assert scm.hosted is not None, "PrepareToHostSingle was not called"
            scm.launch(scm.hosted, in_thread=False)

        module.RegisterServiceCtrlHandler = RegisterServiceCtrlHandler  # type: ignore[attr-defined]
        module.SetEventSourceName = lambda name, register=False: None  # type: ignore[attr-defined]
        module.Initialize = lambda *args: None  # type: ignore[attr-defined]
        module.PrepareToHostSingle = PrepareToHostSingle  # type: ignore[attr-defined]
        module.StartServiceCtrlDispatcher = StartServiceCtrlDispatcher  # type: ignore[attr-defined]
        module.LogInfoMsg = log("info")  # type: ignore[attr-defined]
        module.LogWarningMsg = log("warning")  # type: ignore[attr-defined]
        module.LogErrorMsg = log("error")  # type: ignore[attr-defined]
        return module

    def _win32serviceutil(self) -> types.ModuleType:
        module = types.ModuleType("win32serviceutil")
        scm = self
        win32service = self._win32service()
        servicemanager = self._servicemanager()

        class ServiceFramework:
            """pywin32's ServiceFramework, with the same status and control logic."""

            _svc_name_: str
            _svc_deps_ = None
            _exe_name_ = None
            _exe_args_ = None
            _svc_description_ = None

            def __init__(self, args: Any) -> None:
                self.ssh = servicemanager.RegisterServiceCtrlHandler(args[0], self.ServiceCtrlHandlerEx, True)
                servicemanager.SetEventSourceName(self._svc_name_)
                self.checkPoint = 0

            def GetAcceptedControls(self) -> int:
                accepted = 0
                if hasattr(self, "SvcStop"):
                    accepted |= SERVICE_ACCEPT_STOP
                if hasattr(self, "SvcPause") and hasattr(self, "SvcContinue"):
                    accepted |= SERVICE_ACCEPT_PAUSE_CONTINUE
                if hasattr(self, "SvcShutdown"):
                    accepted |= SERVICE_ACCEPT_SHUTDOWN
                return accepted

            def ReportServiceStatus(
                self,
                serviceStatus: int,
                waitHint: int = 5000,
                win32ExitCode: int = 0,
                svcExitCode: int = 0,
            ) -> None:
                if self.ssh is None:
                    return
                accepted = 0 if serviceStatus == SERVICE_START_PENDING else self.GetAcceptedControls()
                if serviceStatus in (SERVICE_RUNNING, SERVICE_STOPPED):
                    checkpoint = 0
                else:
                    self.checkPoint += 1
                    checkpoint = self.checkPoint
                status: tuple[int, ...] = (SERVICE_WIN32_OWN_PROCESS, serviceStatus, accepted)
                status += (win32ExitCode, svcExitCode, checkpoint, waitHint)
                win32service.SetServiceStatus(self.ssh, status)

            def SvcInterrogate(self) -> None:
                self.ReportServiceStatus(SERVICE_RUNNING)

            def SvcOther(self, control: int) -> None:
                return None

            def ServiceCtrlHandlerEx(self, control: int, event_type: int, data: Any) -> Any:
                if control == SERVICE_CONTROL_STOP:
                    return self.SvcStop()  # type: ignore[attr-defined]
                if control == SERVICE_CONTROL_SHUTDOWN and hasattr(self, "SvcShutdown"):
                    return self.SvcShutdown()
                if control == SERVICE_CONTROL_INTERROGATE:
                    return self.SvcInterrogate()
                return self.SvcOther(control)

            def SvcRun(self) -> None:
                self.ReportServiceStatus(SERVICE_RUNNING)
                self.SvcDoRun()  # type: ignore[attr-defined]
                self.ReportServiceStatus(SERVICE_STOP_PENDING)

        def InstallService(
            pythonClassString: str | None,
            serviceName: str,
            displayName: str,
            startType: int | None = None,
            errorControl: int | None = None,
            bRunInteractive: int = 0,
            serviceDeps: Any = None,
            userName: str | None = None,
            password: str | None = None,
            exeName: str | None = None,
            perfMonIni: str | None = None,
            perfMonDll: str | None = None,
            exeArgs: str | None = None,
            description: str | None = None,
            delayedstart: bool | None = None,
        ) -> None:
            if serviceName in scm.services:
                raise Win32Error(ERROR_SERVICE_EXISTS, "CreateService", "The specified service already exists.")
            command_line = f'"{exeName}" {exeArgs or ""}'.strip()
            scm.services[serviceName] = InstalledService(
                serviceName, displayName, command_line, startType or SERVICE_DEMAND_START, description
            )

        def RemoveService(serviceName: str) -> None:
            if serviceName not in scm.services:
                raise Win32Error(ERROR_SERVICE_DOES_NOT_EXIST, "OpenService", "The specified service does not exist.")
            del scm.services[serviceName]

        def StartService(serviceName: str, args: Any = None, machine: str | None = None) -> None:
            if scm.hosted is None or scm.hosted._svc_name_ != serviceName:  # type: ignore[attr-defined]
                raise Win32Error(ERROR_SERVICE_DOES_NOT_EXIST, "StartService", "The specified service does not exist.")
            scm.launch(scm.hosted)

        def StopService(serviceName: str, machine: str | None = None) -> tuple[int, ...]:
            scm.control(serviceName, SERVICE_CONTROL_STOP)
            return QueryServiceStatus(serviceName)

        def QueryServiceStatus(serviceName: str, machine: str | None = None) -> tuple[int, ...]:
            if serviceName not in scm.services:
                raise Win32Error(ERROR_SERVICE_DOES_NOT_EXIST, "OpenService", "The specified service does not exist.")
            state = scm.services[serviceName].state
            return (SERVICE_WIN32_OWN_PROCESS, state, 0, 0, 0, 0, 0)

        def WaitForServiceStatus(serviceName: str, status: int, waitSecs: float, machine: str | None = None) -> None:
            if not scm.wait_for(serviceName, status, waitSecs):
                raise Win32Error(1053, "WaitForServiceStatus", "The service did not respond in a timely fashion.")

        module.ServiceFramework = ServiceFramework  # type: ignore[attr-defined]
        for function in (
            InstallService,
            RemoveService,
            StartService,
            StopService,
            QueryServiceStatus,
            WaitForServiceStatus,
        ):
            setattr(module, function.__name__, function)
        return module
