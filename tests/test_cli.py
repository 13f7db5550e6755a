"""The ``ticket-daemon`` command as a user runs it: real subprocesses, exit codes, files, stderr."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import EXAMPLES
from ticket_daemon import __version__


def cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "ticket_daemon", *args], input=stdin, capture_output=True, timeout=60, check=False
    )


def test_version() -> None:
    result = cli("--version")
    assert result.returncode == 0
    assert result.stdout.decode().strip() == f"ticket-daemon {__version__}"


def test_render_writes_escpos_bytes(tmp_path: Path) -> None:
    out = tmp_path / "receipt.bin"
    result = cli("render", str(EXAMPLES / "kitchen_order.json"), "-o", str(out))
    assert result.returncode == 0, result.stderr
    data = out.read_bytes()
    assert data.startswith(b"\x1b\x40\x1b\x74\x10")  # ESC @, ESC t 16 (WPC1252)
    assert b"COCINA - MESA 7" in data
    assert data.endswith(b"\x1d\x56\x41\x00") or b"\x1d\x56\x41\x00" in data


def test_render_accepts_a_whole_ticket_message(tmp_path: Path) -> None:
    message = {"tipo": "ticket", "id": "t1", "datos": json.loads((EXAMPLES / "styles.json").read_text())}
    source = tmp_path / "message.json"
    source.write_text(json.dumps(message))
    result = cli("render", str(source), "-o", str(tmp_path / "out.bin"))
    assert result.returncode == 0, result.stderr


def test_preview_draws_a_png_and_prints_the_transcript(tmp_path: Path) -> None:
    out = tmp_path / "receipt.png"
    result = cli("preview", str(EXAMPLES / "kitchen_order.json"), "-o", str(out), "--text")
    assert result.returncode == 0, result.stderr
    assert out.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    transcript = result.stdout.decode()
    assert "COCINA - MESA 7" in transcript
    assert "[cut]" in transcript


def test_preview_of_raw_bytes(tmp_path: Path) -> None:
    raw = tmp_path / "job.bin"
    raw.write_bytes(b"\x1b\x40Hello raw\n\x1d\x56\x42\x00")
    result = cli("preview", "--raw", str(raw), "--text", "--width", "384")
    assert result.returncode == 0, result.stderr
    assert "Hello raw" in result.stdout.decode()


def test_invalid_document_exits_2_with_one_categorised_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"version": "1.0", "profile": {"model": "x"}, "commands": [{"type": "nope"}]}))
    for command in ("render", "preview"):
        result = cli(command, str(bad), "-o", str(tmp_path / "out"))
        assert result.returncode == 2
        assert result.stderr.decode() == "COMMAND: Unknown command type 'nope' at command 0\n"


def test_malformed_json_and_missing_files_exit_2_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{oops")
    result = cli("render", str(bad), "-o", "-")
    assert result.returncode == 2
    assert result.stderr.decode().startswith("JSON: Invalid JSON at line 1")
    missing = cli("preview", str(tmp_path / "nope.json"), "--text")
    assert missing.returncode == 2
    assert missing.stderr.decode().startswith("EXECUTION: cannot read")
    assert b"Traceback" not in missing.stderr
