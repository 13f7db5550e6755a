"""ESC/POS emulator: bytes → a picture of the receipt and a text transcript (pure; powers preview and the virtual
printer)."""

from ticket_daemon.emulator.interpreter import Emulation, Emulator, emulate

__all__ = ["Emulation", "Emulator", "emulate"]
