"""Paper and hardware commands: feed, cut, cash drawer pulse, beep (docs/document.md "separator, feed, cut, pulse,
beep")."""

from __future__ import annotations

from . import commands
from .profiles import PrinterProfile

MS_PER_PULSE_UNIT = 2  # ESC p t1/t2 count units of 2 ms
BEEP_MAX = 9  # ESC B n t: at most 9 beeps, 9 × 50 ms apart


def cut_bytes(full: bool, feed: int, printer: PrinterProfile) -> bytes:
    """``feed`` lines (ESC d n), then GS V for the cut asked for, as far as the printer's cutter can do it: a printer
    that cuts only partially cuts partially, one with no cutter (escpos-printer-db says so) is sent no cut at all."""
    fed = commands.feed_lines(feed) if feed > 0 else b""
    if full and printer.full_cut:
        return fed + commands.CUT_FULL
    return fed + (commands.CUT_PARTIAL if printer.partial_cut else b"")


def pulse_bytes(pin: int, on_time: int, off_time: int) -> bytes:
    """ESC p m t1 t2 — t = ms / 2, clamped to 1..255."""
    return commands.pulse(pin, _pulse_units(on_time), _pulse_units(off_time))


def beep_bytes(times: int, lapse: int) -> bytes:
    """ESC B n t; docs/document.md "separator, feed, cut, pulse, beep": 1..9 each."""
    return commands.beep(min(times, BEEP_MAX), min(lapse, BEEP_MAX))


def _pulse_units(milliseconds: int) -> int:
    return max(1, min(255, milliseconds // MS_PER_PULSE_UNIT))
