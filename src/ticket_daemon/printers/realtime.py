"""Find real-time status requests (``DLE EOT n``) in a printer's input stream, like an Epson printer does.

Pure and incremental (feed it bytes as they arrive): it returns the job's bytes without the status requests, and
the requests to answer. Binary payloads of the commands that carry them (raster images, QR data, barcodes, bit
images) are passed through unread, so an image byte pattern that happens to spell ``DLE EOT 1`` is not taken for a
status request. Commands it does not know are treated as having no parameters.
"""

from __future__ import annotations

from collections.abc import Callable

from ..escpos.commands import DLE, EOT, ESC, FS, GS

_COMMAND_PREFIXES = frozenset((ESC, GS, FS, DLE))

# Parameter bytes after "ESC x" / "GS x" / "FS x" for commands with a fixed length (Epson ESC/POS reference).
_ESC_PARAMS = {
    0x20: 1, 0x21: 1, 0x24: 2, 0x25: 1, 0x2D: 1, 0x33: 1, 0x3D: 1, 0x3F: 1, 0x42: 2, 0x45: 1, 0x47: 1,
    0x4A: 1, 0x4B: 1, 0x4D: 1, 0x52: 1, 0x54: 1, 0x55: 1, 0x56: 1, 0x5C: 2, 0x61: 1, 0x63: 2, 0x64: 1, 0x65: 1,
    0x70: 3, 0x72: 1, 0x74: 1, 0x75: 1, 0x76: 0, 0x7B: 1,
}  # fmt: skip
_GS_PARAMS = {
    0x21: 1, 0x24: 2, 0x2F: 1, 0x42: 1, 0x43: 1, 0x48: 1, 0x49: 1, 0x4C: 2, 0x50: 2, 0x54: 1, 0x57: 2, 0x5C: 2,
    0x61: 1, 0x62: 1, 0x66: 1, 0x68: 1, 0x72: 1, 0x77: 1,
}  # fmt: skip
_FS_PARAMS = {0x21: 1, 0x2D: 1, 0x43: 1, 0x53: 2, 0x57: 1, 0x70: 2}
_DLE_PARAMS = {0x04: 1, 0x05: 1, 0x14: 3}  # DLE EOT n, DLE ENQ n, DLE DC4 n m t (real-time pulse)

# A measured command: (length of its head, length of the binary payload after it, payload ends at a NUL).
Measure = tuple[int, int, bool]
_INCOMPLETE = None


def _u16(low: int, high: int) -> int:
    return low | high << 8


def _measure_esc(buf: bytes | bytearray, i: int, available: int) -> Measure | None:
    command = buf[i + 1]
    if command == 0x2A:  # ESC * m nL nH — bit image; 24-dot modes (m 32, 33) have 3 bytes per column
        if available < 5:
            return _INCOMPLETE
        columns = _u16(buf[i + 3], buf[i + 4])
        return 5, columns * (3 if buf[i + 2] >= 32 else 1), False
    if command == 0x28:  # ESC ( fn pL pH — length-prefixed
        if available < 5:
            return _INCOMPLETE
        return 5, _u16(buf[i + 3], buf[i + 4]), False
    if command == 0x44:  # ESC D n1 .. nk NUL — horizontal tab positions
        return 2, 0, True
    return 2 + _ESC_PARAMS.get(command, 0), 0, False


def _measure_gs(buf: bytes | bytearray, i: int, available: int) -> Measure | None:
    command = buf[i + 1]
    if command == 0x76:  # GS v 0 m xL xH yL yH — raster bit image, xL..xH bytes per row × yL..yH rows
        if available < 8:
            return _INCOMPLETE
        return 8, _u16(buf[i + 4], buf[i + 5]) * _u16(buf[i + 6], buf[i + 7]), False
    if command == 0x28:  # GS ( fn pL pH — length-prefixed (QR codes, graphics, …)
        if available < 5:
            return _INCOMPLETE
        return 5, _u16(buf[i + 3], buf[i + 4]), False
    if command == 0x38:  # GS 8 L p1 p2 p3 p4 — 32-bit length-prefixed graphics data
        if available < 7:
            return _INCOMPLETE
        return 7, int.from_bytes(buf[i + 3 : i + 7], "little"), False
    if command == 0x6B:  # GS k m — barcode: m 0..6 NUL-terminated data, m 65.. length n then data
        if available < 3:
            return _INCOMPLETE
        if buf[i + 2] < 65:
            return 3, 0, True
        if available < 4:
            return _INCOMPLETE
        return 4, buf[i + 3], False
    if command == 0x56:  # GS V m [n] — cut; m 65, 66 (and 97.. 104) take a feed amount
        if available < 3:
            return _INCOMPLETE
        return (4 if buf[i + 2] >= 65 else 3), 0, False
    if command == 0x2A:  # GS * x y — define downloaded bit image, x × y × 8 bytes
        if available < 4:
            return _INCOMPLETE
        return 4, buf[i + 2] * buf[i + 3] * 8, False
    return 2 + _GS_PARAMS.get(command, 0), 0, False


def _measure_fs(buf: bytes | bytearray, i: int, available: int) -> Measure | None:
    command = buf[i + 1]
    if command == 0x28:  # FS ( fn pL pH — length-prefixed
        if available < 5:
            return _INCOMPLETE
        return 5, _u16(buf[i + 3], buf[i + 4]), False
    if command == 0x32:  # FS 2 c1 c2 d1..d72 — define a user-defined Kanji character
        return 4, 72, False
    return 2 + _FS_PARAMS.get(command, 0), 0, False


def _measure_dle(buf: bytes | bytearray, i: int, available: int) -> Measure | None:
    return 2 + _DLE_PARAMS.get(buf[i + 1], 0), 0, False


_MEASURES: dict[int, Callable[[bytes | bytearray, int, int], Measure | None]] = {
    ESC: _measure_esc,
    GS: _measure_gs,
    FS: _measure_fs,
    DLE: _measure_dle,
}


class RealtimeSplitter:
    """Splits a printer's input into job bytes and ``DLE EOT n`` status requests (n = 1..4)."""

    def __init__(self) -> None:
        self._pending = bytearray()  # an incomplete command head, waiting for more bytes
        self._skip = 0  # payload bytes still to pass through untouched
        self._until_nul = False  # inside NUL-terminated barcode data

    def feed(self, data: bytes) -> tuple[bytes, list[int]]:
        """The job bytes in ``data`` (minus status requests) and the ``n`` of each status request, in order."""
        buf = self._pending + data
        self._pending = bytearray()
        job = bytearray()
        requests: list[int] = []
        i, end = 0, len(buf)
        while i < end:
            if self._skip:
                take = min(self._skip, end - i)
                job += buf[i : i + take]
                self._skip -= take
                i += take
                continue
            if self._until_nul:
                nul = buf.find(0, i)
                stop = end if nul < 0 else nul + 1
                self._until_nul = nul < 0
                job += buf[i:stop]
                i = stop
                continue
            if buf[i] not in _COMMAND_PREFIXES:
                start = i
                while i < end and buf[i] not in _COMMAND_PREFIXES:
                    i += 1
                job += buf[start:i]
                continue
            measured = _MEASURES[buf[i]](buf, i, end - i) if end - i >= 2 else _INCOMPLETE
            if measured is None or end - i < measured[0]:
                self._pending = buf[i:]
                break
            head, self._skip, self._until_nul = measured
            if buf[i] == DLE and buf[i + 1] == EOT and 1 <= buf[i + 2] <= 4:
                requests.append(buf[i + 2])  # DLE EOT n — answered, not printed
            else:
                job += buf[i : i + head]
            i += head
        return bytes(job), requests

    def finish(self) -> bytes:
        """Bytes held back as an incomplete command when the stream ended (they belong to the job)."""
        rest, self._pending = bytes(self._pending), bytearray()
        return rest
