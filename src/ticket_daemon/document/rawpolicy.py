"""What the daemon does with ``raw`` commands (DOCUMENT.md "raw"), set by ``raw_policy`` in its configuration."""

from __future__ import annotations

from typing import Literal

# allow: printed as sent (a command's own ``safe_mode`` still applies); safe: the document's whole raw stream may
# only print (escpos/rawsafety.py); deny: any raw command refuses the document.
RawPolicy = Literal["allow", "safe", "deny"]
