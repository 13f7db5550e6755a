"""ESC/POS command bytes, named after the Epson ESC/POS reference. The one place command literals live.

The renderer builds jobs from these; the emulator and the printer transports recognise them.
"""

from __future__ import annotations

ESC = 0x1B
GS = 0x1D
FS = 0x1C
DLE = 0x10
EOT = 0x04
LF = b"\x0a"
CR = b"\x0d"
HT = b"\x09"

INITIALIZE = b"\x1b\x40"  # ESC @ — initialize printer
CANCEL_KANJI = b"\x1c\x2e"  # FS . — cancel Kanji (Chinese) character mode


def select_code_table(n: int) -> bytes:
    return bytes((ESC, 0x74, n))  # ESC t n — the numbers are in document/codetables.py


def bold(on: bool) -> bytes:
    return bytes((ESC, 0x45, int(on)))  # ESC E n — emphasized mode


def double_strike(on: bool) -> bytes:
    return bytes((ESC, 0x47, int(on)))  # ESC G n


def underline(dots: int) -> bytes:
    return bytes((ESC, 0x2D, dots))  # ESC - n — 0 off, 1 one-dot, 2 two-dot


def font(n: int) -> bytes:
    return bytes((ESC, 0x4D, n))  # ESC M n — 0 font A (12x24), 1 font B (9x17)


def align(n: int) -> bytes:
    return bytes((ESC, 0x61, n))  # ESC a n — 0 left, 1 center, 2 right


def character_size(width: int, height: int) -> bytes:
    """GS ! n — width/height multipliers 1..8 in the high/low nibbles."""
    return bytes((GS, 0x21, ((width - 1) << 4) | (height - 1)))


def reverse(on: bool) -> bytes:
    return bytes((GS, 0x42, int(on)))  # GS B n — white/black reverse printing


def feed_lines(n: int) -> bytes:
    return bytes((ESC, 0x64, n))  # ESC d n — print and feed n lines


def feed_dots(n: int) -> bytes:
    return bytes((ESC, 0x4A, n))  # ESC J n — print and feed n dots


CUT_FULL = b"\x1d\x56\x41\x00"  # GS V 65 0 — feed to cut position and full cut
CUT_PARTIAL = b"\x1d\x56\x42\x00"  # GS V 66 0 — feed to cut position and partial cut


def pulse(pin: int, on_units: int, off_units: int) -> bytes:
    return bytes((ESC, 0x70, pin, on_units, off_units))  # ESC p m t1 t2 — cash drawer kick (units of 2 ms)


def beep(times: int, lapse: int) -> bytes:
    return bytes((ESC, 0x42, times, lapse))  # ESC B n t — buzzer


# Barcodes: GS h, GS w, GS H, GS f, GS k m n d1..dn (m = 65..73, the length-prefixed forms).
BARCODE_SYSTEMS: dict[str, int] = {
    "upca": 65,
    "upce": 66,
    "ean13": 67,
    "ean8": 68,
    "code39": 69,
    "itf": 70,
    "codabar": 71,
    "code93": 72,
    "code128": 73,
}
HRI_POSITIONS: dict[str, int] = {"none": 0, "above": 1, "below": 2, "both": 3}


def barcode_height(dots: int) -> bytes:
    return bytes((GS, 0x68, dots))  # GS h n


def barcode_width(module: int) -> bytes:
    return bytes((GS, 0x77, module))  # GS w n


def barcode_hri_position(n: int) -> bytes:
    return bytes((GS, 0x48, n))  # GS H n


def barcode_hri_font(n: int) -> bytes:
    return bytes((GS, 0x66, n))  # GS f n


def barcode(system: int, data: bytes) -> bytes:
    return bytes((GS, 0x6B, system, len(data))) + data  # GS k m n d1..dn


# Native QR: GS ( k pL pH cn fn ... with cn = 49 (0x31).
QR_SELECT_MODEL_2 = b"\x1d\x28\x6b\x04\x00\x31\x41\x32\x00"  # fn 65: model 2
QR_PRINT = b"\x1d\x28\x6b\x03\x00\x31\x51\x30"  # fn 81: print the stored symbol
QR_ERROR_LEVELS: dict[str, int] = {"L": 0x30, "M": 0x31, "Q": 0x32, "H": 0x33}


def qr_module_size(n: int) -> bytes:
    return b"\x1d\x28\x6b\x03\x00\x31\x43" + bytes((n,))  # fn 67: module size in dots


def qr_error_level(level: str) -> bytes:
    return b"\x1d\x28\x6b\x03\x00\x31\x45" + bytes((QR_ERROR_LEVELS[level],))  # fn 69


def qr_store(data: bytes) -> bytes:
    size = len(data) + 3
    return b"\x1d\x28\x6b" + bytes((size & 0xFF, size >> 8)) + b"\x31\x50\x30" + data  # fn 80


def raster_image(width_bytes: int, height: int, data: bytes) -> bytes:
    """GS v 0 m xL xH yL yH d1..dk — raster bit image, normal density, MSB first, 1 = black."""
    return b"\x1d\x76\x30\x00" + bytes((width_bytes & 0xFF, width_bytes >> 8, height & 0xFF, height >> 8)) + data


# Real-time status: DLE EOT n (n = 1 printer, 2 offline cause, 3 error cause, 4 paper sensor).
def status_request(n: int) -> bytes:
    return bytes((DLE, EOT, n))


# Status bits of the DLE EOT replies (Epson TM series; bit 1 and bit 4 of every reply are fixed 1/0 markers).
STATUS_OFFLINE = 0x08  # n=1: bit 3 — offline
STATUS_COVER_OPEN = 0x04  # n=2: bit 2 — cover open
STATUS_PAPER_STOP = 0x20  # n=2: bit 5 — printing stopped by paper end
STATUS_ERROR = 0x40  # n=2: bit 6 — an error occurred
STATUS_AUTOCUTTER_ERROR = 0x08  # n=3: bit 3
STATUS_UNRECOVERABLE = 0x20  # n=3: bit 5
STATUS_PAPER_NEAR_END = 0x0C  # n=4: bits 2-3 — paper roll near end
STATUS_PAPER_END = 0x60  # n=4: bits 5-6 — paper roll end
STATUS_FIXED_BITS = 0x12  # bits 1 and 4 always set, bits 0 and 7 always clear

# GS w n — (narrow, wide) element widths in dots for the two-level symbologies (CODE39, ITF, CODABAR), Epson's
# table: what the printer draws, so both the renderer (does it fit the paper?) and the emulator use it.
TWO_LEVEL_DOTS: dict[int, tuple[int, int]] = {1: (1, 3), 2: (2, 5), 3: (3, 8), 4: (4, 10), 5: (5, 13), 6: (6, 15)}
