"""Find real-time status requests (``DLE EOT n``) in a printer's input stream, like an Epson printer does.

Pure and incremental (feed it bytes as they arrive): it returns the job's bytes without the status requests, and
the requests to answer. Binary payloads of the commands that carry them (raster images, QR data, barcodes, bit
images) are passed through unread, so an image byte pattern that happens to spell ``DLE EOT 1`` is not taken for a
status request. Command lengths come from
``escpos.commandset``; commands it does not know are treated as having no parameters.
"""

from __future__ import annotations

from ..escpos.commands import DLE, EOT, GS
from ..escpos.commandset import COMMAND_PREFIXES, measure


class RealtimeSplitter:
    """Splits a printer's input into job bytes and ``DLE EOT n`` status requests (n = 1..4)."""

    def __init__(self) -> None:
        self._pending = bytearray()  # an incomplete command head, waiting for more bytes
        self._skip = 0  # payload bytes still to pass through untouched
        self._until_nul = False  # inside NUL-terminated barcode data
        self._identity_requests: list[int] = []  # GS I n seen since the last take_identity_requests()
        self._in_job = False  # job bytes came since the last status request
        self._job_ends: list[int] = []  # where, in the last feed's job bytes, a status request ended a job

    def feed(self, data: bytes) -> tuple[bytes, list[int]]:
        """The job bytes in ``data`` (minus status requests) and the ``n`` of each status request, in order."""
        buf = self._pending + data
        self._pending = bytearray()
        job = bytearray()
        requests: list[int] = []
        self._job_ends = []
        job_open = self._in_job  # job bytes of earlier feeds not yet ended by a status request
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
            if buf[i] not in COMMAND_PREFIXES:
                start = i
                while i < end and buf[i] not in COMMAND_PREFIXES:
                    i += 1
                job += buf[start:i]
                continue
            measured = measure(buf, i)
            if measured is None or end - i < measured.head:
                self._pending = buf[i:]
                break
            head, self._skip, self._until_nul = measured
            if buf[i] == DLE and buf[i + 1] == EOT and 1 <= buf[i + 2] <= 4:
                requests.append(buf[i + 2])  # DLE EOT n — answered, not printed
                if job_open or len(job) > (self._job_ends[-1] if self._job_ends else 0):
                    self._job_ends.append(len(job))
                job_open = False
            elif buf[i] == GS and buf[i + 1] == 0x49:
                self._identity_requests.append(buf[i + 2])  # GS I n — transmit printer ID: answered, not printed
            else:
                job += buf[i : i + head]
            i += head
        self._in_job = job_open or len(job) > (self._job_ends[-1] if self._job_ends else 0)
        return bytes(job), requests

    def job_ends(self) -> list[int]:
        """Offsets in the job bytes the last :meth:`feed` returned where a job ended: a sender asks the status after
        each job (the daemon does), so a status request that follows job bytes closes that job."""
        return list(self._job_ends)

    def take_identity_requests(self) -> list[int]:
        """The ``n`` of each ``GS I n`` fed since the last call (they are not in the job bytes either)."""
        taken, self._identity_requests = self._identity_requests, []
        return taken

    def finish(self) -> bytes:
        """Bytes held back as an incomplete command when the stream ended (they belong to the job)."""
        rest, self._pending = bytes(self._pending), bytearray()
        return rest
