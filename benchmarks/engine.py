"""Document engine benchmarks: render and emulate times, and python-escpos on an equivalent receipt.

Targets: text receipt <= 1 ms, showcase <= 5 ms, 576-dot photo <= 60 ms uncached and <= 5 ms when the same image
repeats. Plain documents are also measured against the cost of merely touching them — ``json.dumps`` then
``json.loads`` of the same document, in the same run, interleaved — so the ratio does not depend on the machine's
speed today: validate + render ÷ that round trip <= 3x for a one-line ticket, <= 1.5x for a text receipt and <= 5x
for a 50-row table.
"""

from __future__ import annotations

import base64
import io
import json
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ticket_daemon.document import parse_document
from ticket_daemon.document.model import Document
from ticket_daemon.document.plaindoc import PlainDocument, read_plain
from ticket_daemon.emulator import emulate
from ticket_daemon.escpos import profile_for, render_job
from ticket_daemon.escpos.imagecache import BoundedBitmapCache
from ticket_daemon.resources import system_typefaces

from .report import Stats, measure

SHARED_SHOWCASE = Path(__file__).resolve().parents[2] / "shared" / "examples" / "service" / "showcase.json"

ONE_LINE_TICKET = {
    "version": "1.0",
    "profile": {"model": "80mm EC-PM-80250"},
    "commands": [{"type": "text", "data": {"content": {"text": "Hola"}}}],
}


def _example(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((Path(__file__).resolve().parents[1] / "examples" / name).read_text("utf-8"))
    return loaded


ITEMS = [(f"Artículo número {i}", i % 3 + 1, 12.5 * (i + 1)) for i in range(12)]


def text_receipt() -> dict[str, Any]:
    commands: list[dict[str, Any]] = [
        {
            "type": "text",
            "data": {
                "content": {"text": "MI TIENDA", "align": "center", "content_style": {"bold": True, "size": "2x2"}}
            },
        },
        {"type": "text", "data": {"content": {"text": "RFC: ABC123456789", "align": "center"}}},
        {"type": "separator", "data": {"char": "="}},
    ]
    for name, qty, price in ITEMS:
        commands.append(
            {"type": "text", "data": {"label": {"text": f"{qty} x {name}"}, "content": {"text": f"${price:.2f}"}}}
        )
    commands += [
        {"type": "separator", "data": {}},
        {
            "type": "text",
            "data": {
                "label": {"text": "TOTAL", "label_style": {"bold": True}},
                "content": {"text": "$975.00", "content_style": {"bold": True}},
            },
        },
        {"type": "text", "data": {"content": {"text": "¡Gracias por su compra!", "align": "center"}}},
        {"type": "cut", "data": {"mode": "partial"}},
    ]
    return {"version": "1.0", "profile": {"model": "80mm EC-PM-80250"}, "commands": commands}


def table_receipt(rows: int = 50) -> dict[str, Any]:
    """A 50-row, three-column table: what a kitchen order or an itemised invoice looks like."""
    columns = [{"name": "Item", "width": 28}, {"name": "Qty", "width": 5, "align": "right"}]
    columns.append({"name": "Total", "width": 12, "align": "right"})
    body = [[f"Artículo número {i}", str(i % 4 + 1), f"{12.5 * (i + 1):.2f}"] for i in range(rows)]
    table = {"type": "table", "data": {"definition": {"columns": columns}, "rows": body}}
    return {"version": "1.0", "profile": {"model": "80mm EC-PM-80250"}, "commands": [table, {"type": "cut"}]}


ROUND_TRIP_ROUNDS = 5  # interleaved: touch, render, touch, render, ...


def read(sent: dict[str, Any]) -> Document | PlainDocument:
    """A client's decoded document read as ``render/job.py`` reads it: a plain one without the models."""
    return read_plain(sent) or parse_document(sent)


def _against_round_trip(
    report: Callable[[str, Stats], None],
    render: Callable[[Document | PlainDocument], bytes],
    label: str,
    sent: dict[str, Any],
    target: float,
) -> None:
    """Validate + render ``sent`` ÷ ``json.loads(json.dumps(sent))``, in interleaved rounds; medians and range."""

    def touch() -> None:
        json.loads(json.dumps(sent))

    ratios: list[float] = []
    renders: list[float] = []
    for _ in range(ROUND_TRIP_ROUNDS):
        touched = measure(touch, repeat=200)
        rendered = measure(lambda: render(read(sent)), repeat=200)
        ratios.append(rendered.median / touched.median)
        renders += rendered.samples_ms
    report(f"validate + render {label}", Stats(renders))
    ratios.sort()
    print(
        f"  {label}: render / JSON round trip {statistics.median(ratios):.2f}x ({ratios[0]:.2f}-{ratios[-1]:.2f})"
        f" (target <= {target}x)"
    )


def photo_png(seed: int, width: int = 576, height: int = 432) -> bytes:
    """A photo-like image (smooth gradients plus noise) that dithering has real work on."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = 128 + 90 * np.sin(x / 37.0) * np.cos(y / 23.0) + rng.normal(0, 25, (height, width))
    rgb = np.stack([base, base * 0.9, base * 0.8], axis=-1).clip(0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(rgb, "RGB").save(out, "JPEG", quality=85)
    return out.getvalue()


def photo_receipt(image: bytes) -> dict[str, Any]:
    code = base64.b64encode(image).decode()
    return {
        "version": "1.0",
        "profile": {"model": "80mm EC-PM-80250"},
        "commands": [
            {"type": "image", "data": {"code": code, "pixel_width": 576, "dithering": "atkinson"}},
            {"type": "text", "data": {"content": {"text": "Foto del producto", "align": "center"}}},
            {"type": "cut"},
        ],
    }


def escpos_lib_text_receipt() -> Callable[[], bytes]:
    """The same text receipt through python-escpos's Dummy printer, for the ratio."""
    from escpos.printer import Dummy  # test/bench dependency only

    def build() -> bytes:
        printer = Dummy()
        printer.set(align="center", bold=True, double_height=True, double_width=True)
        printer.text("MI TIENDA\n")
        printer.set(align="center", normal_textsize=True)
        printer.text("RFC: ABC123456789\n")
        printer.set(align="left")
        printer.text("=" * 48 + "\n")
        for name, qty, price in ITEMS:
            printer.text(f"{qty} x {name}: ${price:.2f}\n")
        printer.text("-" * 48 + "\n")
        printer.set(bold=True)
        printer.text("TOTAL: $975.00\n")
        printer.set(align="center", bold=False)
        printer.text("¡Gracias por su compra!\n")
        printer.cut(mode="PART")
        return bytes(printer.output)

    return build


def qr_receipt() -> dict[str, Any]:
    """A receipt whose QR is drawn as an image (the printer has no native QR): the symbol encoder's cost."""
    qr = {"type": "qr", "data": {"data": "https://example.com/factura/ABC123456789?total=1234.50", "correction": "M"}}
    return {"version": "1.0", "profile": {"model": "EC-PM-80250", "has_qr": False}, "commands": [qr, {"type": "cut"}]}


def run(report: Callable[[str, Stats], None]) -> None:
    # What a daemon hands the core: this machine's fonts and one image cache (a single thread here: no lock).
    typefaces = system_typefaces()
    cache = BoundedBitmapCache()

    def render(document: Document | PlainDocument) -> bytes:
        return render_job(document, typefaces=typefaces, image_cache=cache).data

    def emulate_bytes(data: bytes, width: int) -> None:
        emulate(data, width, typefaces=typefaces)

    # What the ack path does before each ack: validate the client's decoded document, then render it.
    for label, sent in (("one-line ticket", ONE_LINE_TICKET), ("examples/receipt.json", _example("receipt.json"))):
        render(read(sent))  # warm the image cache, as a shop's logo is on every ticket

        def read_and_render(sent: dict[str, Any] = sent) -> bytes:
            return render(read(sent))

        report(f"validate + render {label}", measure(read_and_render, repeat=300))

    for label, sent, target in (
        ("one-line ticket", ONE_LINE_TICKET, 3.0),
        ("text receipt", text_receipt(), 1.5),
        ("50-row table", table_receipt(), 5.0),
    ):
        _against_round_trip(report, render, label, sent, target)

    text_doc = parse_document(text_receipt())
    text_stats = measure(lambda: render(text_doc), repeat=300)
    report("render text receipt", text_stats)

    library = escpos_lib_text_receipt()
    library_stats = measure(library, repeat=300)
    report("python-escpos same receipt", library_stats)
    print(f"  ratio python-escpos / ticket-daemon (median): {library_stats.median / text_stats.median:.2f}x")

    if SHARED_SHOWCASE.exists():
        showcase = parse_document(SHARED_SHOWCASE.read_bytes())
        render(showcase)  # warm the image cache: the showcase's logo repeats on every real job
        report("render showcase.json", measure(lambda: render(showcase), repeat=100))
    else:
        print("  (../shared/examples/service/showcase.json not present: showcase skipped)")

    photos = [parse_document(photo_receipt(photo_png(seed))) for seed in range(12)]
    uncached = iter(photos)
    report("render photo 576 dots, uncached", measure(lambda: render(next(uncached)), repeat=len(photos), warmup=0))
    repeated = photos[0]
    render(repeated)
    report("render photo 576 dots, cached", measure(lambda: render(repeated), repeat=100))

    qr_doc = parse_document(qr_receipt())
    report("render raster QR receipt", measure(lambda: render(qr_doc), repeat=200))

    data = render(text_doc)
    width = profile_for(text_doc.profile).dot_width
    report("emulate text receipt (PNG)", measure(lambda: emulate_bytes(data, width), repeat=30))
    photo_bytes = render(repeated)
    report("emulate photo receipt (PNG)", measure(lambda: emulate_bytes(photo_bytes, width), repeat=10))
