"""Every configured printer's live state, for ``get_printers``, ``/api/v1/printers`` and the dashboard.

Printers are asked concurrently, each bounded by ``status_timeout_seconds``, and the answers reused for
``status_cache_seconds`` so clients polling cannot hammer the printers. A check goes through the printer's
:class:`PrinterLine`, so it never opens a second connection to a printer that is printing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from pathlib import Path

from ..printers.probe import probe_state
from ..printers.registry import ConfiguredPrinter, PrinterRegistry
from ..printers.status import PrinterState
from .line import PrinterLine


class PrinterStates:
    def __init__(
        self,
        registry: PrinterRegistry,
        lines: Mapping[str, PrinterLine],
        *,
        data_dir: Path,
        timeout_seconds: float,
        cache_seconds: float,
    ) -> None:
        self._registry = registry
        self._lines = lines
        self._data_dir = data_dir
        self._timeout = timeout_seconds
        self._ttl = cache_seconds
        self._states: dict[str, PrinterState] | None = None  # explicit one-entry cache
        self._states_at = 0.0
        self._lock = asyncio.Lock()

    async def current(self) -> dict[str, PrinterState]:
        """Every printer's state by name (from the cache while it is fresh)."""
        if self._fresh():
            assert self._states is not None
            return self._states
        async with self._lock:  # one check at a time; callers waiting here reuse its answer
            if self._fresh():
                assert self._states is not None
                return self._states
            printers = self._registry.printers
            states = await asyncio.gather(*(self._check(printer) for printer in printers))
            self._states = {printer.name: state for printer, state in zip(printers, states, strict=True)}
            self._states_at = time.monotonic()
            return self._states

    def _fresh(self) -> bool:
        return self._states is not None and time.monotonic() - self._states_at < self._ttl

    async def _check(self, printer: ConfiguredPrinter) -> PrinterState:
        return await self._lines[printer.name].probe(
            lambda: probe_state(printer.parsed_uri, data_dir=self._data_dir, timeout=self._timeout)
        )
