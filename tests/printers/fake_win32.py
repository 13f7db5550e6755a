"""pywin32 as the Windows transport sees it: ``win32print``'s raw printing calls, recording each one, and
``pywintypes.error(winerror, funcname, strerror)``. ``test_fake_conformance.py`` checks these signatures against
pywin32's published type stubs."""

from __future__ import annotations

from typing import Any


class FakePywintypesError(Exception):
    """``pywintypes.error``: args are (winerror, funcname, strerror), also exposed as attributes."""

    def __init__(self, winerror: int, funcname: str, strerror: str) -> None:
        super().__init__(winerror, funcname, strerror)
        self.winerror, self.funcname, self.strerror = winerror, funcname, strerror


class FakeWin32Print:
    """The part of ``win32print`` the transport uses, recording every call."""

    error = FakePywintypesError

    def __init__(self, installed: tuple[str, ...] = ("EPSON TM-T20II Receipt",), chunk: int = 100) -> None:
        self.installed = installed
        self.chunk = chunk  # WritePrinter takes at most this many bytes per call, like a busy port monitor
        self.calls: list[tuple[Any, ...]] = []
        self.spooled: list[bytes] = []
        self.fail: dict[str, FakePywintypesError] = {}  # function name → error to raise
        self._document = bytearray()
        self._handles = 0

    def _call(self, name: str, *args: Any) -> None:
        self.calls.append((name, *args))
        if name in self.fail:
            raise self.fail.pop(name)

    def OpenPrinter(self, name: str, defaults: Any = None) -> int:
        self._call("OpenPrinter", name)
        if name not in self.installed:
            raise FakePywintypesError(1801, "OpenPrinter", "The printer name is invalid.")
        self._handles += 1
        return self._handles

    def StartDocPrinter(self, handle: int, level: int, info: tuple[str, None, str]) -> int:
        self._call("StartDocPrinter", handle, level, info)
        self._document = bytearray()
        return 42

    def StartPagePrinter(self, handle: int) -> None:
        self._call("StartPagePrinter", handle)

    def WritePrinter(self, handle: int, data: bytes) -> int:
        self._call("WritePrinter", handle, len(data))
        taken = data[: self.chunk]
        self._document += taken
        return len(taken)

    def EndPagePrinter(self, handle: int) -> None:
        self._call("EndPagePrinter", handle)

    def EndDocPrinter(self, handle: int) -> None:
        self._call("EndDocPrinter", handle)
        self.spooled.append(bytes(self._document))

    def AbortPrinter(self, handle: int) -> None:
        self._call("AbortPrinter", handle)
        self._document = bytearray()

    def ClosePrinter(self, handle: int) -> None:
        self._call("ClosePrinter", handle)

    def names(self) -> list[str]:
        return [call[0] for call in self.calls]


class FakeWin32PrinterList:
    """The part of ``win32print`` discovery reads: the installed printers and the default one."""

    def EnumPrinters(self, flags: int, name: None, level: int) -> tuple[dict[str, Any], ...]:
        assert (flags, name, level) == (2 | 4, None, 2)  # local and connected printers, PRINTER_INFO_2
        return (
            {"pPrinterName": "EPSON TM-T20II Receipt", "pPortName": "USB001", "pDriverName": "EPSON TM-T20II",
             "Status": 0, "Attributes": 0},
            {"pPrinterName": "Kitchen POS-58", "pPortName": "USB002", "pDriverName": "Generic / Text Only",
             "Status": 0x10, "Attributes": 0},
            {"pPrinterName": "Microsoft Print to PDF", "pPortName": "PORTPROMPT:",
             "pDriverName": "Microsoft Print To PDF", "Status": 0, "Attributes": 0x400},
            {"pPrinterName": "Bar receipt", "pPortName": "USB003", "pDriverName": "Generic / Text Only",
             "Status": 0x1, "Attributes": 0},
        )  # fmt: skip

    def GetDefaultPrinter(self) -> str:
        return "EPSON TM-T20II Receipt"
