"""ticket-daemon: a print service that turns v1 print documents into ESC/POS for thermal receipt printers."""

__version__ = "0.1.0"
