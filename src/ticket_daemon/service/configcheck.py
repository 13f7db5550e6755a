"""``ticket-daemon config check FILE``: validate a configuration the way ``serve`` would, and print the effective
settings (file < environment ``TICKET_*``; defaults filled in) as TOML, with every secret masked.

It refuses exactly what ``serve`` refuses (both call :func:`~.startcheck.check_startable`). Exit status 0 when the
daemon could start with it, 2 with one ``CONFIG:``/``VALIDATION:`` line on stderr otherwise. Nothing it prints
carries a secret: secret settings are masked, and so are their values and passwords inside URLs
(``mqtt://user:***@host``) wherever they appear, in the settings and in the refusal alike.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pydantic import BaseModel, SecretStr

from ..config import ConfigError, Settings, load_settings
from ..logs import RedactingFilter
from .console import EXIT_CONFIG, EXIT_OK
from .startcheck import check_startable

# What a set secret is shown as; an unset one is shown as "" so "is it set?" is still answered.
MASK = "***"


def effective_toml(settings: Settings) -> str:
    """The settings as a TOML document that ``--config`` would accept (secrets masked)."""
    lines = [f"# effective configuration of {settings.config_file or '(defaults and environment)'}"]
    for section, model in _fields(settings).items():
        if isinstance(model, BaseModel):  # every [section] the settings have, as the file would spell it
            lines += ["", f"[{section}]"]
            # TOML has no null: a setting not configured (a TLS file, a CA file) is left out.
            lines += [f"{key} = {_value(value)}" for key, value in _fields(model).items() if value is not None]
    for printer in settings.printers:
        lines += ["", "[[printers]]"]
        # A paper value not configured is left out (it comes from the model or the document).
        lines += [f"{key} = {_value(value)}" for key, value in _fields(printer).items() if value is not None]
    return "\n".join(lines) + "\n"


def config_main(args: argparse.Namespace) -> int:
    """Entry point of ``ticket-daemon config check FILE``."""
    settings: Settings | None = None
    try:
        settings = load_settings(args.file)
        check_startable(settings)
    except ConfigError as error:
        print(_redactor(settings).redact_values(str(error)), file=sys.stderr)
        return EXIT_CONFIG
    sys.stdout.write(_redactor(settings).redact_values(effective_toml(settings)))
    print(f"# OK: the daemon can start with {args.file}", file=sys.stderr)
    return EXIT_OK


def _redactor(settings: Settings | None) -> RedactingFilter:
    """Masks the configured secrets' values wherever they appear, and URL passwords."""
    if settings is None:
        return RedactingFilter()
    values = (settings.server.auth_token, settings.server.dashboard_password_hash, settings.mqtt.password)
    return RedactingFilter(value.get_secret_value() for value in values)


def _fields(model: Any) -> dict[str, Any]:
    return {name: getattr(model, name) for name in type(model).model_fields}


def _value(value: Any) -> str:
    if isinstance(value, SecretStr):
        return json.dumps(MASK if value.get_secret_value() else "")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)
