"""The ``ticket-daemon`` command as a user runs it: real subprocesses, exit codes, files, stderr."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import EXAMPLES
from ticket_daemon import __version__
from ticket_daemon.commands.main import COMMANDS, build_parser


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
        result = cli(command, "--strict", str(bad), "-o", str(tmp_path / "out"))
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


# One of each oddity the original engine printed with a default (docs/document.md "Lenient (default) and strict").
ODDITIES = {
    "Version": "2.0",
    "profile": {"model": "58mm PT-210", "code_table": "UTF8"},
    "Commands": [
        None,
        {"type": "teleport", "data": {}},
        {"Type": "text", "data": {"content": {"text": "Hola", "align": "middle", "content_style": {"size": "big"}}}},
        {"type": "text", "data": {"content": {"text": "x", "content_style": {"font": "C", "underline": "thick"}}}},
        {"type": "text", "data": {"label": {"text": "Mesa 4"}}},
        {"type": "barcode", "data": {"symbology": "pdf417", "data": "A-1", "width": 7, "hri_position": "under"}},
        {"type": "qr", "data": {"data": "https://example.com", "align": "middle", "pixel_width": 0, "logo": "PLACE"}},
        {"type": "pulse", "data": {"pin": 5}},
        {"type": "feed", "data": {"lines": 0}},
        {"type": "cut", "data": {"mode": "half"}},
    ],
}
ODDITY_NOTES = [
    "VALIDATION: key 'Commands' read as 'commands'",
    "VALIDATION: key 'Type' read as 'type'",
    "VALIDATION: key 'Version' read as 'version'",
    "VALIDATION: version '2.0' read as '1.0'",
    "VALIDATION: profile code_table 'UTF8' printed as 'WPC1252'",
    "VALIDATION: command 0 is null, so it was skipped",
    "COMMAND: Unknown command type 'teleport' at command 1, so it was skipped",
    "VALIDATION: content.content_style.size 'big' at command 2 (text) printed as '1x1'",
    "VALIDATION: content.align 'middle' at command 2 (text) printed as 'left'",
    "VALIDATION: content.content_style.underline 'thick' at command 3 (text) printed as '0pt'",
    "VALIDATION: content.content_style.font 'C' at command 3 (text) printed as 'A'",
    "VALIDATION: text at command 4 has a label but no content, so the label is printed alone",
    "BARCODE: symbology 'pdf417' at command 5 (barcode) printed as 'code128'",
    "VALIDATION: width 7 at command 5 (barcode) printed as 6",
    "VALIDATION: hri_position 'under' at command 5 (barcode) printed as 'below'",
    "QR: logo at command 6 (qr) is not a usable image, so the QR code is printed without it",
    "VALIDATION: pixel_width 0 at command 6 (qr) printed as 87",
    "VALIDATION: align 'middle' at command 6 (qr) printed as 'center'",
    "VALIDATION: pin 5 at command 7 (pulse) printed as 0",
    "VALIDATION: lines 0 at command 8 (feed) printed as 1",
    "VALIDATION: mode 'half' at command 9 (cut) printed as 'partial'",
    # Rendering's own note names the command as the client numbered it, though two commands before it were skipped.
    "BARCODE: barcode at command 5 printed at module width 5 to fit the paper "
    "(it needs 408 dots at width 6, the paper has 384)",
]


def test_a_document_with_every_tolerated_oddity_renders_with_one_note_per_substitution(tmp_path: Path) -> None:
    source = tmp_path / "oddities.json"
    source.write_text(json.dumps(ODDITIES))
    out = tmp_path / "out.bin"
    result = cli("render", str(source), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stderr.decode().splitlines() == ODDITY_NOTES
    assert b"Mesa 4" in out.read_bytes() and b"Hola" in out.read_bytes()
    preview = cli("preview", str(source), "--text")
    assert preview.returncode == 0, preview.stderr
    assert preview.stderr.decode().splitlines()[: len(ODDITY_NOTES)] == ODDITY_NOTES
    assert "[qr https://example.com]" in preview.stdout.decode()


def test_strict_refuses_the_first_oddity_with_exit_2(tmp_path: Path) -> None:
    source = tmp_path / "oddities.json"
    source.write_text(json.dumps(ODDITIES))
    for command in ("render", "preview"):
        result = cli(command, "--strict", str(source), "-o", str(tmp_path / "out"))
        assert result.returncode == 2
        # Strict reading does not fold 'Version' into 'version' (Go's case-blind keys are a lenient substitution).
        assert result.stderr.decode() == "VALIDATION: field 'version' is required\n"
        assert not (tmp_path / "out").exists()
    fixed = tmp_path / "fixed.json"
    fixed.write_text(json.dumps({"version": "1.0", "profile": ODDITIES["profile"], "commands": ODDITIES["Commands"]}))
    result = cli("render", "--strict", str(fixed), "-o", str(tmp_path / "out"))
    assert result.returncode == 2
    assert result.stderr.decode().startswith("VALIDATION: profile: field 'code_table' must be one of")
    assert len(result.stderr.decode().splitlines()) == 1


def test_the_projects_examples_render_the_same_bytes_with_and_without_strict(tmp_path: Path) -> None:
    for path in sorted(EXAMPLES.glob("*.json")):
        lenient, strict = tmp_path / "lenient.bin", tmp_path / "strict.bin"
        assert cli("render", str(path), "-o", str(lenient)).returncode == 0
        assert cli("render", "--strict", str(path), "-o", str(strict)).returncode == 0
        assert lenient.read_bytes() == strict.read_bytes(), path.name


def _options(parser: argparse.ArgumentParser, command: str) -> list[tuple[tuple[str, ...], str, object, object]]:
    """What ``command``'s sub-parser accepts: each option's strings, destination, default and choices."""
    subparsers = next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction))
    sub = subparsers.choices[command]
    # A nested sub-command's choices are parsers: compared by their names.
    return [
        (tuple(a.option_strings), a.dest, a.default, list(a.choices) if isinstance(a.choices, dict) else a.choices)
        for a in sub._actions
    ]


def test_a_named_command_gets_the_same_options_as_in_the_whole_parser() -> None:
    """Only the command named on the line is built (start-up time); it must accept exactly what the whole
    parser's copy accepts, and the whole parser (no command, or an unknown one) still lists every command."""
    whole = build_parser([])
    for command in COMMANDS:
        alone = build_parser([command, "--help"])
        assert _options(alone, command) == _options(whole, command), command
    for line in ([], ["--version"], ["no-such-command"]):
        subparsers = next(a for a in build_parser(line)._actions if isinstance(a, argparse._SubParsersAction))
        assert list(subparsers.choices) == list(COMMANDS)
    with pytest.raises(SystemExit) as exited:
        build_parser(["serve"]).parse_args(["serve", "--port", "not-a-number"])
    assert exited.value.code == 2
