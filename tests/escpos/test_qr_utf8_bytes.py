"""A QR symbol drawn for non-ASCII data holds its UTF-8 bytes in byte mode with no ECI header, as a printer's native
GS ( k stores them (phone scanners read them back as UTF-8). Checked bit by bit in the symbol itself: its first
segment header, then the bytes."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import zxingcpp
from numpy.typing import NDArray

from ticket_daemon.escpos.qrmatrix import position_patterns, qr_modules

# ISO/IEC 18004 table 10: the eight data masks, by (row, column).
MASKS: tuple[Callable[[int, int], bool], ...] = (
    lambda i, j: (i + j) % 2 == 0,
    lambda i, j: i % 2 == 0,
    lambda i, j: j % 3 == 0,
    lambda i, j: (i + j) % 3 == 0,
    lambda i, j: (i // 2 + j // 3) % 2 == 0,
    lambda i, j: (i * j) % 2 + (i * j) % 3 == 0,
    lambda i, j: ((i * j) % 2 + (i * j) % 3) % 2 == 0,
    lambda i, j: ((i + j) % 2 + (i * j) % 3) % 2 == 0,
)
FORMAT_MASK = 0b101010000010010


def version_1_data_bits(matrix: NDArray[np.bool_]) -> str:
    """The unmasked data bits of a version 1 symbol, in placement order (one block: no interleaving)."""
    size = matrix.shape[0]
    assert size == 21, "version 1 only"
    reserved = np.zeros((size, size), dtype=np.bool_)
    reserved[0:9, 0:9] = reserved[0:9, size - 8 :] = reserved[size - 8 :, 0:9] = True  # finders, format
    reserved[6, :] = reserved[:, 6] = True  # timing patterns
    reserved |= position_patterns(size)
    format_bits = [matrix[8, c] for c in (0, 1, 2, 3, 4, 5, 7, 8)] + [matrix[r, 8] for r in (7, 5, 4, 3, 2, 1, 0)]
    mask = MASKS[(int("".join("1" if bit else "0" for bit in format_bits), 2) ^ FORMAT_MASK) >> 10 & 7]
    bits: list[str] = []
    upward = True
    column = size - 1
    while column > 0:
        if column == 6:
            column -= 1
        for row in range(size - 1, -1, -1) if upward else range(size):
            for c in (column, column - 1):
                if not reserved[row, c]:
                    bits.append("1" if bool(matrix[row, c]) != mask(row, c) else "0")
        upward = not upward
        column -= 2
    return "".join(bits)


@pytest.mark.parametrize("text", ["Ñandú €", "Größe 3", "Кофе"])
def test_non_ascii_data_is_stored_as_utf8_bytes_in_byte_mode_without_eci(text: str) -> None:
    payload = text.encode("utf-8")

    bits = version_1_data_bits(qr_modules(payload, "L"))

    assert bits[:4] == "0100", "the first segment is byte mode (0111 would be an ECI header)"
    assert int(bits[4:12], 2) == len(payload)
    stored = bytes(int(bits[12 + 8 * k : 20 + 8 * k], 2) for k in range(len(payload)))
    assert stored == payload


def test_non_ascii_symbols_scan_back_as_the_text() -> None:
    matrix = qr_modules("Ñandú €".encode(), "M")
    image = np.pad(np.where(matrix, 0, 255).astype(np.uint8), 4, constant_values=255).repeat(4, 0).repeat(4, 1)
    [result] = zxingcpp.read_barcodes(image)
    assert result.text == "Ñandú €"
