"""Printers known by model: a printer configured with an escpos-printer-db profile, or one that says what it is
(GS I), prints with its own code page numbers, and clients see which profile each printer has and where it came
from. Real daemons on 127.0.0.1, real ``ticket-daemon virtual-printer --model`` processes."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.harness import WAIT_S, DaemonLauncher, RunningDaemon, wait_until
from ticket_daemon.config import ConfigError, PrinterSettings
from ticket_daemon.emulator import emulate
from ticket_daemon.escpos.printerdb import find_model
from ticket_daemon.printers.identify import PrinterIdentity, identify_printer, identify_printers
from ticket_daemon.printers.registry import PrinterRegistry
from ticket_daemon.render.outcomes import PreviewOutcome, RenderedDocument, RenderLimits
from ticket_daemon.render.work import preview_in_worker, render_in_worker
from ticket_daemon.resources import system_typefaces

pytestmark = pytest.mark.slow


class ModelPrinter:
    """``ticket-daemon virtual-printer --model NAME`` in its own process."""

    def __init__(self, root: Path, model: str) -> None:
        self.out = root / f"printer-{model}"
        self.log = root / f"printer-{model}.log"
        env = {k: v for k, v in os.environ.items() if not k.upper().startswith("TICKET_")}
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "ticket_daemon", "virtual-printer", "--listen", "127.0.0.1:0",
                 "--out", str(self.out), "--model", model],
                stdout=log, stderr=subprocess.STDOUT, env=env,
            )  # fmt: skip
        wait_until(lambda: self._port() is not None or self.process.poll() is not None, "the printer to listen")
        port = self._port()
        assert port is not None, self.log.read_text()
        self.uri = f"tcp://127.0.0.1:{port}"

    def _port(self) -> str | None:
        match = re.search(r"listening on 127\.0\.0\.1:(\d+)", self.log.read_text(errors="replace"))
        return match.group(1) if match else None

    def jobs(self) -> list[Path]:
        return sorted(self.out.glob("job-*.bin"))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=WAIT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=WAIT_S)


@pytest.fixture
def model_printers(tmp_path: Path) -> Iterator[list[ModelPrinter]]:
    started: list[ModelPrinter] = []
    yield started
    for printer in started:
        printer.stop()


def start_model_printer(printers: list[ModelPrinter], root: Path, model: str) -> ModelPrinter:
    printer = ModelPrinter(root, model)
    printers.append(printer)
    return printer


def printer_detail(running: RunningDaemon, name: str) -> dict[str, Any]:
    client = running.connect()
    reply = client.request({"tipo": "get_printers"})
    client.close()
    detail: dict[str, Any] = next(p for p in reply["printers"] if p["name"] == name)
    return detail


def identified(running: RunningDaemon, name: str) -> bool:
    source: str = printer_detail(running, name)["profile_source"]
    return source == "identified"


def ticket(job_id: str, text: str) -> dict[str, Any]:
    document = {
        "version": "1.0",
        "profile": {"model": "shop"},
        "commands": [{"type": "text", "data": {"content": {"text": text}}}],
    }
    return {"tipo": "ticket", "id": job_id, "datos": document}


def test_a_printer_configured_without_profile_is_identified_and_gets_its_model(
    daemons: DaemonLauncher, model_printers: list[ModelPrinter], tmp_path: Path
) -> None:
    printer = start_model_printer(model_printers, tmp_path, "TM-T20II")
    running = daemons.start(printers=[{"name": "caja", "uri": printer.uri}])

    wait_until(lambda: identified(running, "caja"), "the printer to be identified")

    detail = printer_detail(running, "caja")
    assert detail["profile"] == "TM-T20II"
    assert detail["reported"] == {"model": "TM-T20II", "manufacturer": "Epson"}
    api = httpx.get(f"{running.http_url}/api/v1/printers", timeout=WAIT_S).json()
    assert [(p["name"], p["profile"], p["profile_source"]) for p in api["printers"]] == [
        ("caja", "TM-T20II", "identified")
    ]
    assert printer.jobs() == [], "asking the printer what it is prints nothing"


def test_an_identified_wincor_printer_is_sent_its_own_number_for_wpc1252(
    daemons: DaemonLauncher, model_printers: list[ModelPrinter], tmp_path: Path
) -> None:
    printer = start_model_printer(model_printers, tmp_path, "TH230")
    running = daemons.start(printers=[{"name": "caja", "uri": printer.uri}])
    wait_until(lambda: identified(running, "caja"), "the printer to be identified")

    ack, result = running.connect().print_job(ticket("t-1", "¿Café? ñandú"))

    assert (ack["status"], result["status"]) == ("queued", "success"), result
    wait_until(lambda: bool(printer.jobs()), "the printer to keep the job")  # its .bin is written last
    data = printer.jobs()[0].read_bytes()
    assert data.startswith(b"\x1b@\x1bt\x08"), data[:8]  # WPC1252 is n = 8 on a Wincor Nixdorf TH230
    transcript = next(printer.out.glob("job-*.txt")).read_text(encoding="utf-8")
    assert "¿Café? ñandú" in transcript.splitlines()


def test_a_configured_profile_is_not_asked_and_is_reported_as_configured(
    daemons: DaemonLauncher, model_printers: list[ModelPrinter], tmp_path: Path
) -> None:
    printer = start_model_printer(model_printers, tmp_path, "TM-T20II")
    running = daemons.start(printers=[{"name": "caja", "uri": printer.uri, "profile": "KR-306"}])

    detail = printer_detail(running, "caja")

    assert (detail["profile"], detail["profile_source"]) == ("KR-306", "configured")
    assert "reported" not in detail


def test_the_built_in_virtual_printer_draws_with_its_configured_models_table(daemons: DaemonLauncher) -> None:
    running = daemons.start(printers=[{"name": "caja", "uri": "virtual://caja", "profile": "KR-306"}])

    ack, result = running.connect().print_job(ticket("t-1", "Crème brûlée 3 €"))

    assert (ack["status"], result["status"]) == ("queued", "success"), result
    [data] = running.virtual_jobs("caja")
    assert data.startswith(b"\x1b@\x1bt\x0b")  # WPC1252 is n = 11 on a Kefar KR-306 (16 is undefined there)
    folder = running.data_dir / "virtual" / "caja"
    assert "Crème brûlée 3 €" in next(folder.glob("*.txt")).read_text(encoding="utf-8").splitlines()


def test_a_printer_naming_no_known_model_keeps_the_default_pages(printer_farm: Any) -> None:
    uri, out = printer_farm.start("plain")  # a virtual printer acting as no model says "Virtual Printer"
    registry = PrinterRegistry.from_settings([PrinterSettings(name="caja", uri=uri)])

    asyncio.run(identify_printers(registry, timeout=WAIT_S))

    [detail] = registry.details()
    assert (detail["profile"], detail["profile_source"]) == (None, "default")
    assert detail["reported"] == {"model": "Virtual Printer", "manufacturer": "ticket-daemon"}
    assert not list(out.glob("*.bin")), "the question is not printed"


def test_a_printer_that_does_not_answer_is_given_up_on(tmp_path: Path) -> None:
    async def scenario() -> PrinterIdentity | None:
        questions: list[bytes] = []

        async def mute(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            questions.append(await reader.read(64))  # reads the question, never answers
            await reader.read()
            writer.close()

        server = await asyncio.start_server(mute, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            identity = await identify_printer(f"tcp://127.0.0.1:{port}", timeout=0.3)
        assert questions == [b"\x1dIC"]  # GS I 67 — the model name
        return identity

    assert asyncio.run(scenario()) is None


def test_an_unknown_profile_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="profile 'TM-X999' is not a printer model of escpos-printer-db"):
        PrinterRegistry.from_settings([PrinterSettings(name="caja", uri="virtual://caja", profile="TM-X999")])


def test_a_model_naming_a_profile_picks_it() -> None:
    registry = PrinterRegistry.from_settings(
        [PrinterSettings(name="caja", uri="tcp://127.0.0.1:9100", model="ZJ-5870")]
    )
    [detail] = registry.details()
    assert (detail["profile"], detail["profile_source"]) == ("ZJ-5870", "configured")
    assert registry.printers[0].dot_width == 384


def test_explicit_keys_override_the_profile() -> None:
    settings = PrinterSettings(name="caja", uri="virtual://caja", profile="TM-T20II", paper_width=58, has_qr=False)
    printer = PrinterRegistry.from_settings([settings]).printers[0]
    assert printer.dot_width == 384


def test_the_preview_reads_the_bytes_with_the_printers_model_table() -> None:
    registry = PrinterRegistry.from_settings([PrinterSettings(name="caja", uri="virtual://caja", profile="KR-306")])
    datos = ticket("p-1", "Crème brûlée 3 €")["datos"]
    limits = RenderLimits(timeout_seconds=30, max_rendered_bytes=1 << 20, max_document_bytes=1 << 20)

    preview = preview_in_worker(datos, registry, "caja", "allow", False, limits)
    rendered = render_in_worker(datos, registry, "caja", "allow", False, limits)

    assert isinstance(preview, PreviewOutcome) and isinstance(rendered, RenderedDocument)
    kefar = find_model("KR-306")
    assert kefar is not None
    as_kefar = emulate(rendered.data, rendered.dot_width, typefaces=system_typefaces(), codecs=kefar.codecs)
    as_epson = emulate(rendered.data, rendered.dot_width, typefaces=system_typefaces())
    assert "Crème brûlée 3 €" in as_kefar.transcript.splitlines()
    assert preview.png == as_kefar.png != as_epson.png
