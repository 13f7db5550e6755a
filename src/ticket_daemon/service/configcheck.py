"""``ticket-daemon config check FILE``: validate a configuration the way ``serve`` would, and print the effective
settings (file < environment ``TICKET_*``; defaults filled in) as TOML, with every secret masked.

Exit status 0 when the daemon could start with it, 2 with one ``CONFIG:``/``VALIDATION:`` line on stderr otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pydantic import BaseModel, SecretStr

from ..config import ConfigError, Settings, load_settings
from ..printers.registry import PrinterRegistry
from .console import EXIT_CONFIG, EXIT_OK

# What a set secret is shown as; an unset one is shown as "" so "is it set?" is still answered.
MASK = "***"


def check_settings(settings: Settings) -> None:
    """What ``create_app`` would refuse beyond the settings schema: printer URIs, names and paper (raises
    ConfigError)."""
    PrinterRegistry.from_settings(settings.printers)


def effective_toml(settings: Settings) -> str:
    """The settings as a TOML document that ``--config`` would accept (secrets masked)."""
    lines = [f"# effective configuration of {settings.config_file or '(defaults and environment)'}"]
    for section, model in _fields(settings).items():
        if isinstance(model, BaseModel):  # every [section] the settings have, as the file would spell it
            lines += ["", f"[{section}]"]
            lines += [f"{key} = {_value(value)}" for key, value in _fields(model).items()]
    for printer in settings.printers:
        lines += ["", "[[printers]]"]
        # TOML has no null: a paper value not configured is left out (it comes from the model or the document).
        lines += [f"{key} = {_value(value)}" for key, value in _fields(printer).items() if value is not None]
    return "\n".join(lines) + "\n"


def config_main(args: argparse.Namespace) -> int:
    """Entry point of ``ticket-daemon config check FILE``."""
    try:
        settings = load_settings(args.file)
        check_settings(settings)
    except ConfigError as error:
        print(str(error), file=sys.stderr)
        return EXIT_CONFIG
    sys.stdout.write(effective_toml(settings))
    print(f"# OK: the daemon can start with {args.file}", file=sys.stderr)
    return EXIT_OK


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
