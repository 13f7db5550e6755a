"""``raw_policy = "safe"`` (DOCUMENT.md "raw"): the raw commands of a document, read as one byte stream, may only
print.

The payloads of all ``raw`` commands are joined in document order and walked command by command with the shared
length table (``commandset``), so a sequence split across two raw commands is seen whole. Only printing commands
pass: text, style, alignment, feed, line spacing, cut, images, barcodes and QR. Real-time commands (DLE …), the
drawer kick (ESC p), printer settings and memory writes (GS ( E, GS ( C, FS g, NV images, macros, …) and anything
that cannot be parsed (an unknown command, a command cut off at the end of the stream) are refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .commands import DLE, ESC, FS, GS
from .commandset import COMMAND_PREFIXES, command_name, measure

# Control bytes that print or move the paper: HT, LF, CR.
ALLOWED_CONTROLS = frozenset((0x09, 0x0A, 0x0D))
# ESC: character spacing, print mode, positions, underline, line spacing, bit image, tabs, initialize, emphasis,
# feed, font, character set, rotation, alignment, reverse feed, legacy cuts, code table, upside-down. ESC @ only
# clears volatile print settings (real POS documents start their raw parts with it) and the renderer selects the
# document's code table again after every raw command.
ALLOWED_ESC = frozenset(b" !$-23*@DEGJMRV\\adeimt{")
# GS: size, reverse, HRI, margins, cut, print area, smoothing, print the serial counter, barcode, raster image.
ALLOWED_GS = frozenset(b"!BHLVWbcfhkvw")
ALLOWED_FS = frozenset(b"!&-.SW")  # Kanji mode and its style
# GS ( k cn=49 (QR Code): select model, module size, error level, store in the symbol buffer, print.
ALLOWED_QR_FUNCTIONS = frozenset((65, 67, 69, 80, 81))
# GS ( L / GS 8 L: fn 112 stores a graphic in the print buffer (not NV memory), fn 50 (or 2) prints it.
ALLOWED_GRAPHICS_FUNCTIONS = frozenset((2, 50, 112))
# Names for the refusals a shop is most likely to meet.
KNOWN_REFUSALS = {
    bytes((ESC, 0x70)): "ESC p (cash drawer pulse)",
    bytes((ESC, 0x3D)): "ESC = (select peripheral device)",
    bytes((DLE, 0x14)): "DLE DC4 (real-time request)",
    bytes((DLE, 0x04)): "DLE EOT (real-time status)",
    bytes((DLE, 0x05)): "DLE ENQ (real-time request)",
    bytes((GS, 0x3A)): "GS : (macro definition)",
    bytes((GS, 0x2A)): "GS * (define downloaded bit image)",
    bytes((FS, 0x67)): "FS g (NV user memory)",
    bytes((FS, 0x71)): "FS q (define NV bit image)",
    bytes((FS, 0x70)): "FS p (print NV bit image)",
}


@dataclass(frozen=True, slots=True)
class RawRefusal:
    """The first command ``raw_policy = "safe"`` refuses: its name and which raw command it starts in."""

    command: str
    part: int  # index into the sequence of payloads that was checked


def first_refused(payloads: Sequence[bytes]) -> RawRefusal | None:
    """The first command in the concatenation of ``payloads`` that is not an allowed printing command, or None."""
    stream = b"".join(payloads)
    ends: list[int] = []
    total = 0
    for payload in payloads:
        total += len(payload)
        ends.append(total)

    def part_of(offset: int) -> int:
        return next(index for index, end in enumerate(ends) if offset < end)

    i = 0
    while i < len(stream):
        byte = stream[i]
        if byte >= 0x20 or byte in ALLOWED_CONTROLS:
            i += 1
            continue
        if byte not in COMMAND_PREFIXES:
            return RawRefusal(f"control byte 0x{byte:02x}", part_of(i))
        extent = measure(stream, i)
        if extent is None or (extent.until_nul and stream.find(0, i + extent.head) < 0):
            return RawRefusal(f"{command_name(stream[i : i + 2])} (incomplete)", part_of(i))
        end = i + extent.head + extent.payload
        if extent.until_nul:
            end = stream.index(0, i + extent.head) + 1
        if end > len(stream):
            return RawRefusal(f"{command_name(stream[i : i + 2])} (incomplete)", part_of(i))
        refusal = _refusal(stream[i:end])
        if refusal is not None:
            return RawRefusal(refusal, part_of(i))
        i = end
    return None


def _refusal(command: bytes) -> str | None:
    """Why ``command`` (one whole command) is refused, or None when it only prints."""
    prefix, code = command[0], command[1]
    named = KNOWN_REFUSALS.get(command[:2])
    if prefix == ESC and code in ALLOWED_ESC:
        return None
    if prefix == GS and code in ALLOWED_GS:
        return None
    if prefix == FS and code in ALLOWED_FS:
        return None
    if prefix == GS and code == 0x28:  # GS ( x pL pH … — only QR and print-buffer graphics
        family, function = command[2], command[6] if len(command) > 6 else -1
        if family == ord("k") and len(command) > 6 and command[5] == 49 and function in ALLOWED_QR_FUNCTIONS:
            return None
        if family == ord("L") and len(command) > 6 and function in ALLOWED_GRAPHICS_FUNCTIONS:
            return None
        return command_name(command[:3])
    if prefix == GS and code == 0x38:  # GS 8 L p1..p4 m fn — graphics with a 32-bit length
        if command[2] == ord("L") and len(command) > 8 and command[8] in ALLOWED_GRAPHICS_FUNCTIONS:
            return None
        return command_name(command[:3])
    return named or command_name(command[:2])
