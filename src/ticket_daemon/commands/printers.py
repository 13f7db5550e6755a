"""``ticket-daemon printers``: the configured printers with their live state and model profile (a tcp or serial
printer with no configured profile is asked what it is, GS I), then the printers this computer has installed that
are not configured yet, each with the URI that would configure it. ``ticket-daemon printers profiles`` lists the
escpos-printer-db profiles a printer can be configured with.

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

from ..escpos.printerdb import GENERIC_PROFILES, model_profiles
from ..printers.discovery import PrinterDiscovery, with_discovered
from ..printers.identify import identify_printers
from ..printers.probe import probe_state
from ..printers.registry import PrinterRegistry


async def printers_report(
    registry: PrinterRegistry, *, data_dir: Path, timeout: float, discovery: PrinterDiscovery
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    names = [printer.name for printer in registry.printers]
    # Identification first: a printer on port 9100 may take one connection at a time.
    await identify_printers(registry, timeout)
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
        lines.append(f"    profile: {_profile_line(detail)}")
    lines.append("Found on this computer (not configured):")
    lines += [f"  {d['name']}  {d['uri']}  {d['printer_type']}  {d['status']}" for d in found] or ["  none"]
    lines.append(
        f"Summary: {summary['status']} ({summary['detected_count']} printers, {summary['thermal_count']} thermal)"
    )
    return "\n".join(lines)


def _profile_line(detail: dict[str, Any]) -> str:
    profile = detail.get("profile") or "none (the six Epson-numbered code pages)"
    line = f"{profile} ({detail.get('profile_source', 'default')})"
    reported = detail.get("reported")
    if reported:
        said = " ".join(part for part in (reported.get("manufacturer"), reported.get("model")) if part)
        line += f"; the printer says it is {said}"
    return line


def format_profiles() -> str:
    """Every escpos-printer-db profile: key, vendor and name, paper, QR and the code pages it can print with."""
    lines = [f"{'profile':<16} {'vendor':<20} {'paper':>8} {'dots':>5} {'qr':<3} code pages (ESC t n)"]
    for key, model in model_profiles().items():
        if key in GENERIC_PROFILES:
            continue
        paper = f"{model.paper_width_mm:g} mm" if model.paper_width_mm is not None else "?"
        dots = str(model.dot_width) if model.dot_width is not None else "?"
        pages = ", ".join(f"{page.number}={page.name}" for page in model.code_pages)
        qr = "yes" if model.has_qr else "no"
        lines.append(f"{key:<16} {model.vendor[:20]:<20} {paper:>8} {dots:>5} {qr:<3} {pages}")
    lines.append("Printer models from escpos-printer-db (MIT), as shipped by python-escpos.")
    return "\n".join(lines)


def printers_main(args: argparse.Namespace) -> int:
    from ..config import ConfigError, load_settings  # lazily: only this command reads the settings

    if getattr(args, "action", None) == "profiles":
        if getattr(args, "json", False):
            print(json.dumps({key: _profile_json(key) for key in model_profiles() if key not in GENERIC_PROFILES}))
        else:
            print(format_profiles())
        return 0

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


def _profile_json(key: str) -> dict[str, Any]:
    model = model_profiles()[key]
    return {
        "vendor": model.vendor,
        "name": model.name,
        "paper_width_mm": model.paper_width_mm,
        "dot_width": model.dot_width,
        "dpi": model.dpi,
        "font_columns": list(model.font_columns),
        "has_qr": model.has_qr,
        "code_pages": {str(page.number): page.name for page in model.code_pages},
    }
