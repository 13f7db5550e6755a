"""Sans-I/O byte reader: the parser pulls bytes with generators, ``feed`` pushes them in.

A read that needs more bytes than have arrived yields; the next ``append`` resumes it. So a command split across any
number of ``feed`` calls is parsed exactly as if it had arrived in one piece (the shape of python-websockets'
``StreamReader``).
"""

from __future__ import annotations

from collections.abc import Generator

Wait = Generator[None, None, None]

# Bytes already consumed are dropped once this many have piled up, so a long stream does not grow the buffer.
COMPACT_AFTER = 64 * 1024


class ByteReader:
    def __init__(self) -> None:
        self._buffer = bytearray()
        self._pos = 0
        self._base = 0  # absolute stream offset of _buffer[0]

    @property
    def position(self) -> int:
        """Absolute offset in the whole stream of the next byte to be read."""
        return self._base + self._pos

    def append(self, data: bytes) -> None:
        if self._pos >= COMPACT_AFTER:
            del self._buffer[: self._pos]
            self._base += self._pos
            self._pos = 0
        self._buffer += data

    def available(self) -> int:
        return len(self._buffer) - self._pos

    def take_byte(self) -> int:
        """The next byte, or -1 when none has arrived yet (fast path for text; no generator)."""
        if self._pos >= len(self._buffer):
            return -1
        byte = self._buffer[self._pos]
        self._pos += 1
        return byte

    def take_run(self, limit: int) -> bytes:
        """Up to ``limit`` already-arrived bytes from 0x20 upwards (a run of printable text), possibly empty."""
        end = self._pos
        stop = min(len(self._buffer), self._pos + limit)
        buffer = self._buffer
        while end < stop and buffer[end] >= 0x20:
            end += 1
        run = bytes(buffer[self._pos : end])
        self._pos = end
        return run

    def read(self, n: int) -> Generator[None, None, bytes]:
        """Exactly ``n`` bytes (keep ``n`` small: they are held until all have arrived)."""
        while len(self._buffer) - self._pos < n:
            yield
        data = bytes(self._buffer[self._pos : self._pos + n])
        self._pos += n
        return data

    def read_byte(self) -> Generator[None, None, int]:
        while self._pos >= len(self._buffer):
            yield
        byte = self._buffer[self._pos]
        self._pos += 1
        return byte

    def peek_byte(self) -> Generator[None, None, int]:
        """The next byte without consuming it (to resynchronise on it when a command turns out to be garbage)."""
        while self._pos >= len(self._buffer):
            yield
        return self._buffer[self._pos]

    def skip(self, n: int) -> Wait:
        """Discard ``n`` bytes as they arrive, without holding them (declared lengths may be huge)."""
        while n > 0:
            available = len(self._buffer) - self._pos
            if available == 0:
                yield
                continue
            step = min(available, n)
            self._pos += step
            n -= step

    def find(self, terminator: int, limit: int) -> Generator[None, None, int | None]:
        """Index (relative to the next byte) of ``terminator`` within the next ``limit`` bytes, else None.

        Consumes nothing. Waits until the terminator or ``limit`` bytes have arrived, so the answer never depends on
        where the chunk boundaries fell.
        """
        while True:
            index = self._buffer.find(bytes((terminator,)), self._pos, self._pos + limit)
            if index >= 0:
                return index - self._pos
            if len(self._buffer) - self._pos >= limit:
                return None
            yield
