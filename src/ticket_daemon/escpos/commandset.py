"""How long each ESC/POS command is, after the Epson ESC/POS reference: the one table every byte-stream reader uses.

A command is a prefix byte (ESC, GS, FS, DLE), a command byte, then either a fixed number of parameter bytes
(``ESC_PARAMETERS``, ``GS_PARAMETERS``, ``FS_PARAMETERS``) or a head that says how much binary payload follows
(``measure``). The printer transports use it to find real-time requests without reading image data as commands, and
the emulator to skip settings it does not draw. The ``raw_policy = "safe"`` check (``rawsafety``) reads more
strictly: it also checks every parameter's range, since a printer reads past an out-of-range one differently.

Real-time commands are the exception to reading by length: a printer acts on ``DLE EOT``, ``DLE ENQ`` and
``DLE DC4`` wherever it meets them, inside another command's data too (``find_realtime``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple

from .commands import DLE, EOT, ESC, FS, GS

COMMAND_PREFIXES = frozenset((ESC, GS, FS, DLE))
DC4 = 0x14
ENQ = 0x05
# DLE EOT, DLE ENQ, DLE DC4: the two bytes a printer acts on at once, even inside image, symbol or barcode data.
REALTIME_SEQUENCE = re.compile(rb"\x10[\x04\x05\x14]")
REALTIME_NAMES = {
    EOT: "DLE EOT (real-time status)",
    ENQ: "DLE ENQ (real-time request)",
    DC4: "DLE DC4 (real-time request)",
}

# Parameter bytes after "ESC x" / "GS x" / "FS x" for the commands of fixed length.
ESC_PARAMETERS: dict[int, int] = {
    0x0C: 0,  # ESC FF — print data in page mode
    0x20: 1,  # ESC SP n — right-side character spacing
    0x21: 1,  # ESC ! n — print mode
    0x24: 2,  # ESC $ nL nH — absolute print position
    0x25: 1,  # ESC % n — user-defined character set
    0x2D: 1,  # ESC - n — underline
    0x32: 0,  # ESC 2 — default line spacing
    0x33: 1,  # ESC 3 n — line spacing
    0x3C: 0,  # ESC < — return home
    0x3D: 1,  # ESC = n — select peripheral device
    0x3F: 1,  # ESC ? n — cancel user-defined character
    0x40: 0,  # ESC @ — initialize
    0x42: 2,  # ESC B n t — buzzer
    0x45: 1,  # ESC E n — emphasized
    0x47: 1,  # ESC G n — double-strike
    0x4A: 1,  # ESC J n — print and feed n dots
    0x4B: 1,  # ESC K n — reverse feed (some models)
    0x4C: 0,  # ESC L — page mode
    0x4D: 1,  # ESC M n — font
    0x52: 1,  # ESC R n — international character set
    0x53: 0,  # ESC S — standard mode
    0x54: 1,  # ESC T n — page mode print direction
    0x55: 1,  # ESC U n — unidirectional printing
    0x56: 1,  # ESC V n — 90° rotation
    0x57: 8,  # ESC W — page mode print area
    0x5C: 2,  # ESC \ nL nH — relative print position
    0x61: 1,  # ESC a n — justification
    0x63: 2,  # ESC c 3 n / ESC c 4 n / ESC c 5 n — paper sensors, panel buttons
    0x64: 1,  # ESC d n — print and feed n lines
    0x65: 1,  # ESC e n — reverse feed
    0x69: 0,  # ESC i — partial cut (legacy)
    0x6D: 0,  # ESC m — partial cut (legacy)
    0x70: 3,  # ESC p m t1 t2 — cash drawer pulse
    0x72: 1,  # ESC r n — print colour
    0x74: 1,  # ESC t n — character code table
    0x75: 1,  # ESC u n — transmit peripheral status
    0x76: 0,  # ESC v — transmit paper sensor status
    0x7B: 1,  # ESC { n — upside-down
}
GS_PARAMETERS: dict[int, int] = {
    0x21: 1,  # GS ! n — character size
    0x24: 2,  # GS $ — page mode vertical position
    0x2F: 1,  # GS / m — print downloaded bit image
    0x3A: 0,  # GS : — start/end macro definition
    0x42: 1,  # GS B n — reverse printing
    0x48: 1,  # GS H n — HRI position
    0x49: 1,  # GS I n — transmit printer ID
    0x4C: 2,  # GS L nL nH — left margin
    0x50: 2,  # GS P x y — motion units
    0x54: 1,  # GS T n — print position to the beginning of the line
    0x57: 2,  # GS W nL nH — print area width
    0x5C: 2,  # GS \ — page mode relative vertical position
    0x5E: 3,  # GS ^ r t m — execute macro
    0x61: 1,  # GS a n — automatic status back
    0x62: 1,  # GS b n — smoothing
    0x63: 0,  # GS c — print the serial counter
    0x66: 1,  # GS f n — HRI font
    0x67: 4,  # GS g 0 m nL nH / GS g 2 m nL nH — maintenance counters
    0x68: 1,  # GS h n — barcode height
    0x6A: 1,  # GS j n — automatic ink status back
    0x72: 1,  # GS r n — transmit status
    0x77: 1,  # GS w n — barcode module width
    0x7A: 3,  # GS z 0 t1 t2 — online recovery wait time
}
FS_PARAMETERS: dict[int, int] = {
    0x21: 1,  # FS ! n — Kanji print mode
    0x26: 0,  # FS & — Kanji character mode
    0x2D: 1,  # FS - n — Kanji underline
    0x2E: 0,  # FS . — cancel Kanji character mode
    0x3F: 2,  # FS ? c1 c2 — cancel user-defined Kanji
    0x43: 1,  # FS C n — Kanji code system
    0x53: 2,  # FS S n1 n2 — Kanji spacing
    0x57: 1,  # FS W n — Kanji quadruple size
    0x70: 2,  # FS p n m — print NV bit image
}
DLE_PARAMETERS: dict[int, int] = {0x04: 1, 0x05: 1}  # DLE EOT n, DLE ENQ n (DLE DC4 is measured by its fn)
# DLE DC4 fn … — arguments after fn: 1 and 2 (pulse, power-off) take two, 7 (buzzer) one, 8 (clear buffers) seven.
DLE_DC4_ARGUMENTS: dict[int, int] = {1: 2, 2: 2, 7: 1, 8: 7}
FS_USER_KANJI_BYTES = 72  # FS 2 c1 c2 d1..d72 — one user-defined 24x24 Kanji character


class Measure(NamedTuple):
    """A command's extent: ``head`` bytes (prefix, command byte, parameters), then ``payload`` bytes of data, or
    data up to and including a NUL when ``until_nul``."""

    head: int
    payload: int
    until_nul: bool = False


def _u16(low: int, high: int) -> int:
    return low | high << 8


def _measure_esc(buf: bytes | bytearray, i: int, available: int) -> Measure | None:
    command = buf[i + 1]
    if command == 0x2A:  # ESC * m nL nH — bit image; 24-dot modes (m 32, 33) have 3 bytes per column
        if available < 5:
            return None
        return Measure(5, _u16(buf[i + 3], buf[i + 4]) * (3 if buf[i + 2] >= 32 else 1))
    if command == 0x28:  # ESC ( fn pL pH — length-prefixed
        if available < 5:
            return None
        return Measure(5, _u16(buf[i + 3], buf[i + 4]))
    if command == 0x44:  # ESC D n1 .. nk NUL — horizontal tab positions
        return Measure(2, 0, True)
    return Measure(2 + ESC_PARAMETERS.get(command, 0), 0)


def _measure_gs(buf: bytes | bytearray, i: int, available: int) -> Measure | None:
    command = buf[i + 1]
    if command == 0x76:  # GS v 0 m xL xH yL yH — raster bit image, xL..xH bytes per row × yL..yH rows
        if available < 8:
            return None
        return Measure(8, _u16(buf[i + 4], buf[i + 5]) * _u16(buf[i + 6], buf[i + 7]))
    if command == 0x28:  # GS ( fn pL pH — length-prefixed (QR codes, graphics, settings, …)
        if available < 5:
            return None
        return Measure(5, _u16(buf[i + 3], buf[i + 4]))
    if command == 0x38:  # GS 8 L p1 p2 p3 p4 — 32-bit length-prefixed graphics data
        if available < 7:
            return None
        return Measure(7, int.from_bytes(buf[i + 3 : i + 7], "little"))
    if command == 0x6B:  # GS k m — barcode: m 0..6 NUL-terminated data, m 65.. length n then data
        if available < 3:
            return None
        if buf[i + 2] < 65:
            return Measure(3, 0, True)
        if available < 4:
            return None
        return Measure(4, buf[i + 3])
    if command == 0x56:  # GS V m [n] — cut; m 65, 66 (and 97.. 104) take a feed amount
        if available < 3:
            return None
        return Measure(4 if buf[i + 2] >= 65 else 3, 0)
    if command == 0x2A:  # GS * x y — define downloaded bit image, x × y × 8 bytes
        if available < 4:
            return None
        return Measure(4, buf[i + 2] * buf[i + 3] * 8)
    if command == 0x43:  # GS C — serial counter: 0 n m / 1 aL aH bL bH n r / 2 nL nH (fn 59 is text, not measured)
        if available < 3:
            return None
        return Measure(3 + {0: 2, 0x30: 2, 1: 6, 0x31: 6, 2: 2, 0x32: 2}.get(buf[i + 2], 0), 0)
    return Measure(2 + GS_PARAMETERS.get(command, 0), 0)


def _measure_fs(buf: bytes | bytearray, i: int, available: int) -> Measure | None:
    command = buf[i + 1]
    if command == 0x28:  # FS ( fn pL pH — length-prefixed
        if available < 5:
            return None
        return Measure(5, _u16(buf[i + 3], buf[i + 4]))
    if command == 0x32:  # FS 2 c1 c2 d1..d72 — define a user-defined Kanji character
        return Measure(4, FS_USER_KANJI_BYTES)
    return Measure(2 + FS_PARAMETERS.get(command, 0), 0)


def _measure_dle(buf: bytes | bytearray, i: int, available: int) -> Measure | None:
    command = buf[i + 1]
    if command == DC4:  # DLE DC4 fn … — real-time requests
        if available < 3:
            return None
        return Measure(3 + DLE_DC4_ARGUMENTS.get(buf[i + 2], 2), 0)
    return Measure(2 + DLE_PARAMETERS.get(command, 0), 0)


_MEASURES: dict[int, Callable[[bytes | bytearray, int, int], Measure | None]] = {
    ESC: _measure_esc,
    GS: _measure_gs,
    FS: _measure_fs,
    DLE: _measure_dle,
}


def measure(buf: bytes | bytearray, i: int) -> Measure | None:
    """The extent of the command starting at ``buf[i]`` (a byte of ``COMMAND_PREFIXES``), or None while too few
    bytes have arrived to tell. Commands not in the tables are taken as having no parameters."""
    available = len(buf) - i
    if available < 2:
        return None
    return _MEASURES[buf[i]](buf, i, available)


def command_name(codes: bytes | bytearray) -> str:
    """Readable command name: ``GS ( L``, ``ESC 0x0e``, ``DLE DC4``."""
    names = {ESC: "ESC", GS: "GS", FS: "FS", DLE: "DLE", 0x04: "EOT", DC4: "DC4", ENQ: "ENQ", 0x20: "SP"}
    return " ".join(
        names[code] if code in names else chr(code) if 0x20 < code < 0x7F else f"0x{code:02x}" for code in codes
    )


def find_realtime(data: bytes | bytearray, start: int = 0) -> int:
    """Offset of the first real-time sequence (``DLE EOT``, ``DLE ENQ``, ``DLE DC4``) in ``data`` from ``start``,
    or -1 when there is none."""
    found = REALTIME_SEQUENCE.search(data, start)
    return -1 if found is None else found.start()
