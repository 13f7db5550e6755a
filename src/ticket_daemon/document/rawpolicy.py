"""What the daemon does with ``raw`` commands (docs/document.md "raw"): ``raw_policy`` in its configuration, and a
command's own ``safe_mode``."""

from __future__ import annotations

from typing import Literal

# allow: printed as sent (a command's own ``safe_mode`` still applies); safe: the document's whole raw stream may
# only print (escpos/rawsafety.py); deny: any raw command refuses the document.
RawPolicy = Literal["allow", "safe", "deny"]

# docs/document.md "raw": what ``"safe_mode": true`` refuses, with the name reported to the client.
SAFE_MODE_BLOCKED: tuple[tuple[bytes, str], ...] = (
    (b"\x1b\x40", "ESC @, initialize"),
    (b"\x1b\x3d\x00", "ESC = 0, disable printer"),
    (b"\x1b\x70", "ESC p, cash drawer pulse"),
    (b"\x1d\x3a", "GS :, macro definition"),
)
# The original daemon's refusal, byte for byte on the wire: ``RAW:  Blocked by safe_mode - potentially dangerous
# command`` has two spaces after the colon, so the sentence after the category's "RAW: " starts with a space.
SAFE_MODE_REFUSAL = " Blocked by safe_mode - potentially dangerous command"


def safe_mode_refusal(payload: bytes) -> str | None:
    """The sentence ``safe_mode`` refuses ``payload`` with (the original's text, then the command found), or None."""
    for sequence, name in SAFE_MODE_BLOCKED:
        if sequence in payload:
            return f"{SAFE_MODE_REFUSAL} ({name})"
    return None
