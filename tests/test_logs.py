"""The daemon's log handlers: rotation by the bytes written, the stdlib's line format, secrets masked on every
handler while each record is redacted and formatted once."""

from __future__ import annotations

import io
import logging
import logging.handlers
import queue
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from ticket_daemon.logs import (
    LOG_FORMAT,
    MAX_LOG_BATCH,
    RedactingFilter,
    _BatchingListener,
    _Console,
    _RotatingFile,
    configure_logging,
    flush_logs,
    installed_handlers,
)


def _file_handler() -> logging.handlers.RotatingFileHandler:
    [handler] = [
        h
        for h in installed_handlers()
        if isinstance(h, logging.handlers.RotatingFileHandler) and h.baseFilename.endswith("ticket-daemon.log")
    ]
    return handler


def test_the_log_file_rotates_by_the_bytes_written(tmp_path: Path, restore_logging: None) -> None:
    log_file = configure_logging(level="INFO", data_dir=tmp_path, console=False)
    assert log_file is not None
    handler = _file_handler()
    handler.maxBytes = 2_000
    log = logging.getLogger("ticket_daemon.test")
    for n in range(100):
        log.info("line %03d %s", n, "é" * 20)  # multi-byte characters count as the bytes they take
    flush_logs()

    rotated = sorted(log_file.parent.glob("ticket-daemon.log.*"))
    assert [path.name for path in rotated] == [f"ticket-daemon.log.{n}" for n in range(1, 6)]
    for path in [log_file, *rotated]:
        assert 0 < path.stat().st_size <= 2_000
    assert "line 099" in log_file.read_text(encoding="utf-8")


def test_an_existing_log_file_counts_towards_the_limit(tmp_path: Path, restore_logging: None) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "ticket-daemon.log").write_text("x" * 4_000, encoding="utf-8")
    configure_logging(level="INFO", data_dir=tmp_path, console=False)
    handler = _file_handler()
    handler.maxBytes = 4_050

    logging.getLogger("ticket_daemon.test").info("this line does not fit after the 4000 bytes already there")
    flush_logs()

    assert (tmp_path / "logs" / "ticket-daemon.log.1").read_text(encoding="utf-8") == "x" * 4_000
    assert "does not fit" in (tmp_path / "logs" / "ticket-daemon.log").read_text(encoding="utf-8")


def test_lines_look_like_the_standard_format(tmp_path: Path, restore_logging: None) -> None:
    configure_logging(level="INFO", data_dir=tmp_path, console=False)
    handler = _file_handler()
    record = logging.LogRecord("ticket_daemon.test", logging.WARNING, __file__, 1, "job %s: %s", ("a", "b"), None)
    record.created, record.msecs = 1_700_000_000.25, 250.0
    reference = logging.LogRecord("ticket_daemon.test", logging.WARNING, __file__, 1, "job %s: %s", ("a", "b"), None)
    reference.created, reference.msecs = record.created, record.msecs
    assert handler.format(record) == logging.Formatter(LOG_FORMAT).format(reference)
    later = logging.LogRecord("ticket_daemon.test", logging.INFO, __file__, 1, "next", (), None)
    later.created, later.msecs = 1_700_000_061.5, 500.0
    reference_later = logging.LogRecord("ticket_daemon.test", logging.INFO, __file__, 1, "next", (), None)
    reference_later.created, reference_later.msecs = later.created, later.msecs
    assert handler.format(later) == logging.Formatter(LOG_FORMAT).format(reference_later)


def test_secrets_are_masked_on_every_handler(
    tmp_path: Path, restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(level="INFO", data_dir=tmp_path, console=True, secrets=["configured-secret-789"])
    log = logging.getLogger("ticket_daemon.test")
    log.info("header Authorization: Bearer abc.def.ghi sent")
    log.info("API-Key=k-123 and Api_Key: k-456")
    log.info("value %s from the config", "configured-secret-789")
    log.info("job %s accepted", "plain-1")
    flush_logs()

    for text in (capsys.readouterr().err, (tmp_path / "logs" / "ticket-daemon.log").read_text(encoding="utf-8")):
        for secret in ("abc.def.ghi", "k-123", "k-456", "configured-secret-789"):
            assert secret not in text
        assert "Authorization: ***" in text and "API-Key=***" in text and "job plain-1 accepted" in text


def test_a_line_without_a_secret_key_is_left_as_it_is() -> None:
    redactor = RedactingFilter()
    assert redactor.redact("job 42 accepted for printer bar from till-1@10.0.0.1") == (
        "job 42 accepted for printer bar from till-1@10.0.0.1"
    )
    assert redactor.redact("TOKEN=abc") == "TOKEN=***"


class _StuckConsole:
    """A terminal that does not take a line until it is released (a paused ``less``, a full pipe); it counts the
    writes it was asked for."""

    def __init__(self) -> None:
        self.released = threading.Event()
        self.text = ""
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        self.released.wait(timeout=10)
        self.text += text
        return len(text)

    def flush(self) -> None:
        pass


@pytest.fixture
def stuck_console(tmp_path: Path, restore_logging: None, monkeypatch: pytest.MonkeyPatch) -> _StuckConsole:
    """The daemon's logging, with a stuck terminal as its console and the files under ``tmp_path``."""
    console = _StuckConsole()
    monkeypatch.setattr("sys.stderr", console)
    configure_logging(level="INFO", data_dir=tmp_path, console=True)
    return console


def test_a_line_is_written_by_the_listener_while_the_caller_goes_on(
    tmp_path: Path, stuck_console: _StuckConsole
) -> None:
    console = stuck_console

    logging.getLogger("ticket_daemon.test").info("job %s accepted", "queued-1")

    assert console.text == ""  # the caller did not wait for the console
    console.released.set()
    flush_logs()
    assert "ticket_daemon.test: job queued-1 accepted" in console.text
    assert "job queued-1 accepted" in (tmp_path / "logs" / "ticket-daemon.log").read_text(encoding="utf-8")


def test_lines_logged_before_exit_reach_the_file(tmp_path: Path) -> None:
    script = (
        "import logging, pathlib, sys\n"
        "from ticket_daemon.logs import configure_logging\n"
        "configure_logging(level='INFO', data_dir=pathlib.Path(sys.argv[1]), console=False)\n"
        "for n in range(500):\n"
        "    logging.getLogger('ticket_daemon.test').info('line %d', n)\n"
    )
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=True, timeout=60)

    lines = (tmp_path / "logs" / "ticket-daemon.log").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 500 and lines[-1].endswith("ticket_daemon.test: line 499")


def test_lines_queued_while_the_listener_writes_go_out_in_one_write_in_order(
    tmp_path: Path, stuck_console: _StuckConsole
) -> None:
    console = stuck_console
    log = logging.getLogger("ticket_daemon.test")

    log.info("first")
    for _ in range(1000):  # bounded: the listener takes the first line and blocks on the console
        if console.writes:
            break
        threading.Event().wait(0.01)
    assert len(console.writes) == 1
    for n in range(5):
        log.info("queued %d", n)
    console.released.set()
    flush_logs()

    assert len(console.writes) == 2  # the five lines that waited went out together
    assert [line.rsplit(": ", 1)[1] for line in console.writes[1].splitlines()] == [f"queued {n}" for n in range(5)]
    file_lines = (tmp_path / "logs" / "ticket-daemon.log").read_text(encoding="utf-8").splitlines()
    assert [line.rsplit(": ", 1)[1] for line in file_lines] == ["first", *(f"queued {n}" for n in range(5))]


def test_after_a_batch_the_listener_rests_and_writes_the_lines_logged_meanwhile_together(
    tmp_path: Path, stuck_console: _StuckConsole, monkeypatch: pytest.MonkeyPatch
) -> None:
    console = stuck_console
    console.released.set()
    monkeypatch.setattr("ticket_daemon.logs.LOG_BATCH_PAUSE_SECONDS", 0.5)
    log = logging.getLogger("ticket_daemon.test")

    log.info("first")
    for _ in range(1000):  # bounded: the listener writes the first line at once
        if console.writes:
            break
        threading.Event().wait(0.01)
    log.info("second")
    threading.Event().wait(0.05)  # a listener that looked again at once would write "second" alone meanwhile
    log.info("third")
    flush_logs()

    assert [[line.rsplit(": ", 1)[1] for line in write.splitlines()] for write in console.writes] == [
        ["first"],
        ["second", "third"],
    ]


def test_a_batch_is_bounded_and_every_line_before_the_stop_is_written(tmp_path: Path) -> None:
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    batches: list[list[str]] = []

    class Recorder(_Console):
        def emit_batch(self, records: list[logging.LogRecord]) -> None:
            batches.append([record.getMessage() for record in records])

    listener = _BatchingListener(records, [Recorder(io.StringIO())])
    lines = [f"line {n}" for n in range(MAX_LOG_BATCH + 10)]
    for line in lines:
        records.put(logging.LogRecord("t", logging.INFO, __file__, 1, line, None, None))
    listener.start()
    listener.stop()  # the stop's sentinel comes after every line: all of them are written first

    assert [line for batch in batches for line in batch] == lines
    assert [len(batch) for batch in batches] == [MAX_LOG_BATCH, 10]


def test_a_full_batch_is_followed_by_the_next_without_a_rest(tmp_path: Path) -> None:
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    batches: list[int] = []
    rested_after: list[int] = []  # the size of the batch before each rest

    class Recorder(_Console):
        def emit_batch(self, records: list[logging.LogRecord]) -> None:
            batches.append(len(records))

    class Listener(_BatchingListener):
        def _rest(self) -> None:
            rested_after.append(batches[-1])

    listener = Listener(records, [Recorder(io.StringIO())])
    for n in range(2 * MAX_LOG_BATCH + 10):
        records.put(logging.LogRecord("t", logging.INFO, __file__, 1, f"line {n}", None, None))
    listener.start()
    listener.stop()

    assert batches == [MAX_LOG_BATCH, MAX_LOG_BATCH, 10]
    assert MAX_LOG_BATCH not in rested_after  # a flood is written as fast as the handlers take it


def test_a_batch_crossing_the_size_limit_rotates_between_its_lines(tmp_path: Path) -> None:
    path = tmp_path / "batch.log"
    handler = _RotatingFile(path, max_bytes=1_000, backups=2)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.emit_batch([logging.LogRecord("t", logging.INFO, __file__, 1, "x" * 99, None, None) for _ in range(25)])
    handler.close()

    rotated = [path, tmp_path / "batch.log.1", tmp_path / "batch.log.2"]
    assert [p.stat().st_size for p in rotated] == [700, 900, 900]  # 100 bytes a line, never over the limit
