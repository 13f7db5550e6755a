"""``ticket-daemon printers``: the configured printers with their live state, then the printers this computer has
installed that are not configured yet, each with the URI that would configure it.

Only configured printers are probed (``DLE EOT`` over links that can read back); discovery asks the OS and never
scans the network. Exit status 0, or 2 for a configuration that cannot be read.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from ..printers.discovery import PrinterDiscovery, with_discovered
from ..printers.probe import probe_state
from ..printers.registry import PrinterRegistry


async def printers_report(
    registry: PrinterRegistry, *, data_dir: Path, timeout: float, discovery: PrinterDiscovery
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    names = [printer.name for printer in registry.printers]
    probes = (probe_state(p.parsed_uri, data_dir=data_dir, timeout=timeout) for p in registry.printers)
    states = await asyncio.gather(*probes)
    details = registry.details(dict(zip(names, states, strict=True)))
    return with_discovered(registry, details, await discovery.scan())


def format_report(details: list[dict[str, Any]], summary: dict[str, Any], uris: dict[str, str]) -> str:
    configured = [d for d in details if "source" not in d]
    found = [d for d in details if "source" in d]
    lines = ["Configured printers:"]
    for detail in configured:
        mark = " (default)" if detail["is_default"] else ""
        lines.append(f"  {detail['name']}{mark}  {uris.get(detail['name'], '')}  {detail['status']}")
    lines.append("Found on this computer (not configured):")
    lines += [f"  {d['name']}  {d['uri']}  {d['printer_type']}  {d['status']}" for d in found] or ["  none"]
    lines.append(
        f"Summary: {summary['status']} ({summary['detected_count']} printers, {summary['thermal_count']} thermal)"
    )
    return "\n".join(lines)


def printers_main(args: argparse.Namespace) -> int:
    from ..config import ConfigError, load_settings  # lazily: only this command reads the settings

    try:
        settings = load_settings(getattr(args, "config", None))
        registry = PrinterRegistry.from_settings(settings.printers)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    discovery = PrinterDiscovery(timeout=settings.server.status_timeout_seconds + 3)
    details, summary = asyncio.run(
        printers_report(
            registry,
            data_dir=settings.storage.data_dir,
            timeout=settings.server.status_timeout_seconds,
            discovery=discovery,
        )
    )
    if getattr(args, "json", False):
        print(json.dumps({"status": "ok", "printers": details, "summary": summary}, indent=2))
    else:
        print(format_report(details, summary, {p.name: p.uri for p in registry.printers}))
    return 0
