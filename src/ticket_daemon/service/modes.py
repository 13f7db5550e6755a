"""Defaults that depend on how the daemon is run (a Windows service) and on its ``env``.

Unattended runs: the ``prod`` environment binds 0.0.0.0 with quiet logs, ``test``/``local`` bind localhost with
verbose logs, and a service keeps its data under ``%PROGRAMDATA%\\<ServiceName>\\`` as the original did. These are
only defaults: whatever the file, the environment or a flag sets explicitly wins.

Binding every interface lets every machine on the shop's network reach the daemon, so it is never silent: the start
banner (``console.py``) logs :func:`exposure_warnings`: what is exposed, the setting that keeps the daemon on this
machine (``server.host``), and that ``server.auth_token`` should protect it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ..config import LogLevel, Settings

ALL_INTERFACES = "0.0.0.0"

# The original's service names, and the environment each one runs.
PROD_SERVICE_NAME = "TicketServicio"
TEST_SERVICE_NAME = "TicketServicioTest"
ENV_BY_SERVICE_NAME = {PROD_SERVICE_NAME.lower(): "prod", TEST_SERVICE_NAME.lower(): "test"}

# env → (host, log level). prod serves the other tills on the shop's network and logs only what needs attention.
_MODE_DEFAULTS: dict[str, tuple[str, LogLevel]] = {
    "prod": (ALL_INTERFACES, "WARNING"),
    "test": ("127.0.0.1", "DEBUG"),
    "local": ("127.0.0.1", "INFO"),
}


def env_for_service(name: str) -> str:
    """``TicketServicio`` → prod, ``TicketServicioTest`` → test, any other name → local."""
    return ENV_BY_SERVICE_NAME.get(name.lower(), "local")


def service_data_dir(name: str, environ: Mapping[str, str]) -> Path:
    """``%PROGRAMDATA%\\<name>`` (``C:\\ProgramData`` when the variable is missing, as on every Windows install)."""
    return Path(environ.get("PROGRAMDATA") or r"C:\ProgramData") / name


def with_service_defaults(settings: Settings, *, name: str, environ: Mapping[str, str]) -> Settings:
    """``settings`` with the service's env, host, log level and data dir filled in where none was set explicitly."""
    server = settings.server
    explicit = server.model_fields_set
    env = server.env if "env" in explicit else env_for_service(name)
    host, level = _MODE_DEFAULTS.get(env, _MODE_DEFAULTS["local"])
    server_update: dict[str, object] = {"env": env}
    if "host" not in explicit:
        server_update["host"] = host
    if "log_level" not in explicit:
        server_update["log_level"] = level
    storage = settings.storage
    if "data_dir" not in storage.model_fields_set:
        storage = storage.model_copy(update={"data_dir": service_data_dir(name, environ)})
    return settings.model_copy(update={"server": server.model_copy(update=server_update), "storage": storage})


def exposure_warnings(settings: Settings) -> list[str]:
    """What to tell the operator when the daemon listens on every interface (empty when it does not)."""
    server = settings.server
    if server.host not in (ALL_INTERFACES, "::"):
        return []
    why = "; the prod service's default, as in the original" if server.env == "prod" else ""
    warnings = [
        f"listening on all interfaces ({server.host}{why}): other machines on the network can reach the daemon. "
        'Set server.host = "127.0.0.1" to keep it on this machine'
    ]
    if not server.auth_token.get_secret_value():
        warnings.append("no server.auth_token is set: any machine on the network can print. Set one for the tills")
    return warnings
