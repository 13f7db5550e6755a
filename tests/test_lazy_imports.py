"""The daemon's own process loads numpy, Pillow and zxing-cpp only when a document needs them: an idle daemon, or
one that prints plain text, does not pay their start-up time and memory. Likewise the MQTT door and argon2 load only
when a broker is configured or a password is checked."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ticket_daemon.collector import YOUNG_THRESHOLD

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


# What `ticket-daemon serve` must not have loaded once it serves, with the default configuration: the MQTT door and
# its client library (no broker configured), argon2 (no password checked), the image libraries (nothing printed),
# the transports of printers it does not have (only the virtual one) and printer discovery (nobody asked).
UNUSED_TRANSPORTS = tuple(
    f"ticket_daemon.printers.{name}" for name in ("serial_port", "usb", "cups", "win32", "file", "discovery")
)
NOT_AT_START = ("paho", "ticket_daemon.mqtt", "argon2", *HEAVY, *UNUSED_TRANSPORTS)
# What it loads only once it serves, in the background, before any document arrives: the renderer and the document
# models it reads.
RENDERER = (
    "ticket_daemon.document.model",
    "ticket_daemon.document.parse",
    "ticket_daemon.escpos.render",
)
# What only a scrape of /metrics loads.
METRICS_LIBRARY = "prometheus_client"

SERVE_SCRIPT = """
import http.client, json, os, signal, sys, threading, gc
from ticket_daemon.commands.main import main

ready = threading.Event()
port = []
at_ready = []

class Stdout:
    def __init__(self, stream):
        self.stream = stream
    def write(self, text):
        if text.startswith("ticket-daemon ready"):
            port.append(int(text.split("http://127.0.0.1:")[1].split("/")[0]))
            at_ready.extend(name for name in {renderer!r} if name in sys.modules)
            ready.set()
        return len(text)
    def flush(self):
        pass

real_stdout, sys.stdout = sys.stdout, Stdout(sys.stdout)

def look_once_serving():
    ready.wait(60)
    connection = http.client.HTTPConnection("127.0.0.1", port[0], timeout=10)
    connection.request("GET", "/health")  # answered once start-up is over
    assert connection.getresponse().status == 200
    loaded = sorted(name for name in {names!r} if name in sys.modules)
    for _ in range(600):  # the renderer loads in the background once the daemon serves: at most 60 s
        if all(name in sys.modules for name in {renderer!r}):
            break
        threading.Event().wait(0.1)
    renderer = sorted(name for name in {renderer!r} if name in sys.modules)
    def renderer_frozen():  # frozen objects are in no generation gc.get_objects() lists
        work = sys.modules.get("ticket_daemon.render.work")
        made = getattr(work, "render_in_worker", None)
        return made is not None and not any(tracked is made for tracked in gc.get_objects())
    for _ in range(600):  # what the renderer's load built is frozen once it is loaded: at most 60 s
        if renderer_frozen():
            break
        threading.Event().wait(0.1)
    metrics_before_scrape = "{metrics}" in sys.modules
    connection = http.client.HTTPConnection("127.0.0.1", port[0], timeout=10)
    connection.request("GET", "/metrics")
    scraped = connection.getresponse()
    scrape_ok = scraped.status == 200 and b"ticket_daemon_jobs_accepted_total" in scraped.read()
    seen = {{
        "metrics_before_scrape": metrics_before_scrape,
        "scrape_loaded_metrics": scrape_ok and "{metrics}" in sys.modules,
        "loaded": loaded,
        "collector_on": gc.isenabled(),
        "young_threshold": gc.get_threshold()[0],
        "load_frozen": renderer_frozen(),
        "at_ready": at_ready,
        "renderer_then": renderer,
    }}
    real_stdout.write(json.dumps(seen) + "\\n")
    real_stdout.flush()
    os.kill(os.getpid(), signal.SIGTERM)

threading.Thread(target=look_once_serving, daemon=True).start()
sys.exit(main(["serve", "--host", "127.0.0.1", "--port", "0", "--data-dir", sys.argv[1]]))
"""


def test_serve_starts_without_unused_code_or_the_renderer_loads_the_renderer_once_serving_and_metrics_on_a_scrape(
    tmp_path: Path,
) -> None:
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            SERVE_SCRIPT.format(names=NOT_AT_START, renderer=RENDERER, metrics=METRICS_LIBRARY),
            str(tmp_path / "data"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    seen = json.loads(completed.stdout.strip().splitlines()[-1])

    assert seen == {
        "metrics_before_scrape": False,
        "scrape_loaded_metrics": True,
        "loaded": [],
        "collector_on": True,
        "young_threshold": YOUNG_THRESHOLD,
        "load_frozen": True,
        "at_ready": [],
        "renderer_then": sorted(RENDERER),
    }
