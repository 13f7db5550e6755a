"""The daemon's own process loads numpy, Pillow and zxing-cpp only when a document needs them: an idle daemon, or
one that prints plain text, does not pay their start-up time and memory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
HEAVY = ("numpy", "PIL", "zxingcpp", "ticket_daemon.emulator")

SCRIPT = """
import json, sys
import ticket_daemon.service.console  # everything `ticket-daemon serve` imports
from ticket_daemon.render.job import render_document

def loaded():
    return [name for name in {heavy!r} if name in sys.modules]

at_start = loaded()
for document in json.loads(sys.argv[1]):
    render_document(document, raw_policy="allow")
after_plain = loaded()
render_document(json.loads(sys.argv[2]), raw_policy="allow")
print(json.dumps([at_start, after_plain, loaded()]))
"""


def test_plain_text_and_tables_render_without_numpy_pillow_or_zxing_and_a_logo_loads_them() -> None:
    plain = [
        {
            "version": "1.0",
            "profile": {"model": "80mm EC-PM-80250"},
            "commands": [{"type": "text", "data": {"content": {"text": "Café 1,50 €"}}}],
        },
        json.loads((EXAMPLES / "kitchen_order.json").read_text(encoding="utf-8")),
    ]
    receipt = (EXAMPLES / "receipt.json").read_text(encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(heavy=HEAVY), json.dumps(plain), receipt],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    at_start, after_plain, after_logo = json.loads(completed.stdout)

    assert at_start == [] and after_plain == []
    assert {"numpy", "PIL"} <= set(after_logo)
