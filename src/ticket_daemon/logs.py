"""Where the daemon's log lines go: the console (when someone is watching), a rotating file, and ``AUDIT:`` events.

``<data_dir>/logs/ticket-daemon.log`` rotates at 5 MB keeping 5 files, so a till left running for years holds at
most ~30 MB of logs. ``AUDIT:`` lines also go to ``audit.log`` beside it (same rotation rule), a file no other line
reaches, so a flood of ordinary lines cannot rotate the security record away. Every handler carries
:class:`RedactingFilter`, so a token or password that slips into a message (a client pasting its token into a
document, an exception text) is masked before it is written.

A client's protocol faults (bad frames, a wrong ``Host``) go through :func:`client_fault`: at most one line per
address per :data:`CLIENT_FAULT_INTERVAL_SECONDS`, carrying the count of what was held back, never a traceback,
so one client in a loop cannot fill the disk.

Logging a line costs the caller only a queue put: the root logger's one handler of ours
(:class:`~logging.handlers.QueueHandler`) hands each record to a listener thread, which redacts, formats and writes
it to the files and the console, so the event loop never waits on a disk write or a slow terminal. The listener
writes every record waiting when it wakes as one batch (one write per handler), then, unless the batch was full,
rests for :data:`LOG_BATCH_PAUSE_SECONDS` before it looks again, so under load it wakes (and takes the interpreter
lock from the event loop) a hundred times a second at most, not once per few lines. :func:`flush_logs` returns once
every line logged so far is written; at interpreter exit the listener writes out what is queued and stops.
"""

from __future__ import annotations

import atexit
import logging
import logging.handlers
import os
import queue
import re
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

AUDIT_LOGGER_NAME = "ticket_daemon.audit"
LOG_FILE_NAME = "ticket-daemon.log"
AUDIT_FILE_NAME = "audit.log"
CLIENT_FAULT_LOGGER_NAME = "ticket_daemon.clients"
# One line per faulty address per minute: enough to see who misbehaves and how much, at ~1 line/min per address.
CLIENT_FAULT_INTERVAL_SECONDS = 60.0
# Addresses whose faults are being counted; beyond it the least recently seen is forgotten (bounded memory).
MAX_FAULTY_ADDRESSES = 4096
# 5 MB x (1 + 5 backups): bounded disk use on a small POS box, still days of history.
LOG_FILE_MAX_BYTES = 5 * 1024 * 1024
LOG_FILE_BACKUPS = 5
LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
REDACTED = "***"
# The most lines the listener writes at once: bounds a batch's memory when a flood of lines is queued.
MAX_LOG_BATCH = 256
# How long the listener rests after writing the lines it found: a line logged meanwhile is written up to this much
# later, with the lines that follow it (a line logged while the listener waits for work is written at once).
LOG_BATCH_PAUSE_SECONDS = 0.01

# key=value / "key": "value" pairs whose value is a secret, whatever the spelling.
_SECRET_PAIRS = re.compile(
    r"""(?P<key>["']?(?:auth[_-]?token|token|password|passwd|secret|authorization|api[_-]?key)["']?\s*[:=]\s*)"""
    r"""(?P<quote>["']?)(?P<value>(?:Bearer\s+)?[^\s"',;&}]+)""",
    re.IGNORECASE,
)
# The password of a URL's user part (``mqtt://user:password@host``).
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^\s/@:]*:)[^\s/@]*@")
# Every key _SECRET_PAIRS matches contains one of these (lower case): a line without them needs no regex.
_SECRET_KEY_HINTS = ("token", "passw", "secret", "authorization", "api")
# Set on a record once redacted / formatted, so a second handler does not do it again.
_REDACTED_ATTRIBUTE = "_ticket_daemon_redacted"
_FORMATTED_ATTRIBUTE = "_ticket_daemon_line"
# Marks the handlers installed here, so configuring twice replaces them instead of doubling every line.
_OWN_HANDLER_ATTRIBUTE = "_ticket_daemon_handler"


class RedactingFilter(logging.Filter):
    """Masks secrets in a record's final message: known secret values, and anything shaped like ``token=…``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        # Very short secrets would mask ordinary words; config validation is not this module's job.
        self._secrets = sorted({secret for secret in secrets if len(secret) >= 4}, key=len, reverse=True)

    def redact_values(self, text: str) -> str:
        """Only the known secret values and URL passwords (for text whose words must stay as written)."""
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        if "@" in text:
            text = _URL_PASSWORD.sub(lambda m: f"{m['head']}{REDACTED}@", text)
        return text

    def redact(self, text: str) -> str:
        text = self.redact_values(text)
        lowered = text.lower()
        if not any(hint in lowered for hint in _SECRET_KEY_HINTS):  # most lines: no key the pattern could match
            return text
        return _SECRET_PAIRS.sub(lambda m: f"{m['key']}{m['quote']}{REDACTED}", text)

    def filter(self, record: logging.LogRecord) -> bool:
        # Every handler carries this filter: a record is redacted by the first one only.
        if getattr(record, _REDACTED_ATTRIBUTE, False):
            return True
        message = record.getMessage()
        # The message text stays on the record: the next handler does not merge the arguments again.
        record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        setattr(record, _REDACTED_ATTRIBUTE, True)
        return True


class _LineFormatter(logging.Formatter):
    """:data:`LOG_FORMAT`, formatted once per record whatever the number of handlers (they share this formatter),
    with the date part of the time stamp made once per second: a busy till logs a few lines per ticket."""

    def __init__(self) -> None:
        super().__init__(LOG_FORMAT)
        self._second = -1
        self._second_text = ""

    def format(self, record: logging.LogRecord) -> str:
        text = getattr(record, _FORMATTED_ATTRIBUTE, None)
        if text is None:
            text = super().format(record)
            setattr(record, _FORMATTED_ATTRIBUTE, text)
        return str(text)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        second = int(record.created)
        if second != self._second:
            self._second, self._second_text = second, time.strftime(self.default_time_format, self.converter(second))
        return f"{self._second_text},{int(record.msecs):03d}"


class _RotatingFile(logging.handlers.RotatingFileHandler):
    """Rotates at ``maxBytes`` like its parent, but counts the bytes it writes instead of formatting each record
    a second time and asking the file system for the file's size on every line."""

    def __init__(self, path: Path, *, max_bytes: int, backups: int) -> None:
        super().__init__(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
        self._size = self._current_size()

    def _current_size(self) -> int:
        try:
            return os.path.getsize(self.baseFilename)
        except OSError:
            return 0

    def emit(self, record: logging.LogRecord) -> None:
        self.emit_batch([record])

    def emit_batch(self, records: list[logging.LogRecord]) -> None:
        """Write ``records`` in order, rotating between two of them when due, with one flush at the end."""
        for record in records:
            try:
                line = self.format(record) + self.terminator
                size = len(line.encode("utf-8", "backslashreplace"))
                if self.maxBytes > 0 and self._size > 0 and self._size + size >= self.maxBytes:
                    self.doRollover()
                    self._size = self._current_size()
                if self.stream is None:
                    self.stream = self._open()
                self.stream.write(line)
                self._size += size
            except RecursionError:
                raise
            except Exception:
                self.handleError(record)
        _flush(self, records)


class _Console(logging.StreamHandler):  # type: ignore[type-arg]
    """The console: the lines of a batch in one write."""

    def emit(self, record: logging.LogRecord) -> None:
        self.emit_batch([record])

    def emit_batch(self, records: list[logging.LogRecord]) -> None:
        lines = []
        for record in records:
            try:
                lines.append(self.format(record) + self.terminator)
            except RecursionError:
                raise
            except Exception:
                self.handleError(record)
        try:
            self.stream.write("".join(lines))
        except RecursionError:
            raise
        except Exception:
            self.handleError(records[-1])
        _flush(self, records)


_BatchWriter = _RotatingFile | _Console


def _flush(handler: _BatchWriter, records: list[logging.LogRecord]) -> None:
    try:
        handler.flush()
    except RecursionError:
        raise
    except Exception:
        handler.handleError(records[-1])


class _BatchingListener(logging.handlers.QueueListener):
    """Writes every record waiting when it wakes up as one batch: under load that is one write (one system call,
    one hand-off of the interpreter lock) per handler per batch instead of per line, and the event loop, which
    makes the records, is interrupted less. Alone, a record is a batch of one and is written at once. After a
    batch that was not full it rests for :data:`LOG_BATCH_PAUSE_SECONDS`, so a busy daemon's lines come in batches
    of that many milliseconds' worth, and a flood is written without a rest."""

    def __init__(self, records: queue.SimpleQueue[logging.LogRecord], writers: Sequence[_BatchWriter]) -> None:
        super().__init__(records, *writers, respect_handler_level=True)
        self.writers = tuple(writers)

    def _monitor(self) -> None:
        records = cast("queue.SimpleQueue[logging.LogRecord | None]", self.queue)
        stopping = False
        while not stopping:
            batch: list[logging.LogRecord] = []
            waiting: logging.LogRecord | None = records.get()
            while True:
                if waiting is None:  # the sentinel stop() puts: write what came before it, then end
                    stopping = True
                else:
                    batch.append(waiting)
                if len(batch) >= MAX_LOG_BATCH:
                    break
                try:
                    waiting = records.get_nowait()
                except queue.Empty:
                    break
            if batch:
                self._write(batch)
            if not stopping and len(batch) < MAX_LOG_BATCH:  # a flood is written without a rest
                self._rest()

    def _rest(self) -> None:
        time.sleep(LOG_BATCH_PAUSE_SECONDS)

    def _write(self, batch: list[logging.LogRecord]) -> None:
        for handler in self.writers:
            chosen = [record for record in batch if record.levelno >= handler.level and handler.filter(record)]
            if not chosen:
                continue
            handler.acquire()
            try:
                handler.emit_batch(chosen)
            finally:
                handler.release()


class _ToListener(logging.handlers.QueueHandler):
    """The root logger's only handler of ours: puts each record on the listener's queue, and owns that listener
    and the handlers behind it (closing it writes out the queue and closes them)."""

    def __init__(self, handlers: list[_BatchWriter]) -> None:
        # Unbounded: the listener writes a line in microseconds, far faster than the daemon makes them.
        records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
        super().__init__(records)
        self.targets = handlers
        self.listener = _BatchingListener(records, handlers)
        self._listener_lock = threading.Lock()
        self.listener.start()
        self._listening = True
        atexit.register(self.close)

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        # The message is merged now (its arguments may change once the caller goes on); the time stamp, the
        # redaction and the line are the listener's work. Same process: the record need not pickle.
        record.msg, record.args = record.getMessage(), None
        return record

    def flush(self) -> None:
        """Wait until every record queued so far is written (the listener's thread is restarted)."""
        with self._listener_lock:
            if self._listening:
                self.listener.stop()
                self.listener.start()
        for handler in self.targets:
            handler.flush()

    def close(self) -> None:
        atexit.unregister(self.close)
        with self._listener_lock:
            if self._listening:
                self._listening = False
                self.listener.stop()
        for handler in self.targets:
            handler.close()
        super().close()


def flush_logs() -> None:
    """Return once every line logged so far is in the log file and on the console."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, _ToListener):
            handler.flush()


def installed_handlers() -> list[logging.Handler]:
    """The handlers that write the lines (file, console), behind the root logger's queue."""
    return [target for h in logging.getLogger().handlers if isinstance(h, _ToListener) for target in h.targets]


@dataclass(slots=True)
class _Faults:
    logged_at: float
    held_back: int = 0


class ClientFaultLog:
    """Logs a client's protocol faults at WARNING, at most once per address per ``interval`` seconds; the next
    line of that address says how many were held back since its last one. Never a traceback: the sentence is all
    a client's mistake deserves."""

    def __init__(
        self,
        logger: logging.Logger,
        *,
        interval: float = CLIENT_FAULT_INTERVAL_SECONDS,
        max_addresses: int = MAX_FAULTY_ADDRESSES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._interval = interval
        self._max_addresses = max_addresses
        self._clock = clock
        self._seen: OrderedDict[str, _Faults] = OrderedDict()

    def report(self, address: str, sentence: str) -> bool:
        """One fault of ``address``; True when it was logged, False when it was only counted."""
        now = self._clock()
        entry = self._seen.pop(address, None)
        if entry is not None and now - entry.logged_at < self._interval:
            entry.held_back += 1
            self._seen[address] = entry  # last: the most recently seen
            return False
        held_back = entry.held_back if entry is not None else 0
        self._seen[address] = _Faults(logged_at=now)
        while len(self._seen) > self._max_addresses:
            self._seen.popitem(last=False)
        suffix = f" ({held_back} more from this address not logged since its last line)" if held_back else ""
        self._logger.warning("client %s: %s%s", _one_token(address), sentence, suffix)
        return True


def client_fault(address: str, sentence: str) -> None:
    """Log a client's protocol fault through the process's :class:`ClientFaultLog` (what the doors call)."""
    fault_log = getattr(logging.getLogger(CLIENT_FAULT_LOGGER_NAME), _FAULT_LOG_ATTRIBUTE, None)
    if not isinstance(fault_log, ClientFaultLog):
        fault_log = install_client_fault_log()
    fault_log.report(address, sentence)


def install_client_fault_log(clock: Callable[[], float] = time.monotonic) -> ClientFaultLog:
    """A fresh :class:`ClientFaultLog` for :func:`client_fault` (counts start again), on ``clock``."""
    logger = logging.getLogger(CLIENT_FAULT_LOGGER_NAME)
    fault_log = ClientFaultLog(logger, clock=clock)
    setattr(logger, _FAULT_LOG_ATTRIBUTE, fault_log)
    return fault_log


# The process's ClientFaultLog hangs on its logger (one per process, like the logger itself).
_FAULT_LOG_ATTRIBUTE = "_ticket_daemon_fault_log"


class PerConnectionNoise(logging.Filter):
    """Drops uvicorn's INFO lines written for every WebSocket opened or closed (its WebSocket access log): like
    the HTTP access log, one line per connection is noise, and a client connecting in a loop would fill the disk."""

    _MESSAGES = frozenset({"connection open", "connection closed"})

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO:
            return True
        message = str(record.msg)
        return message not in self._MESSAGES and not message.startswith('%s - "WebSocket %s"')


class AuditOnly(logging.Filter):
    """Lets through the ``AUDIT:`` lines only (the audit logger's, and any other line starting with ``AUDIT:``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == AUDIT_LOGGER_NAME or record.name.startswith(AUDIT_LOGGER_NAME + "."):
            return True
        return str(record.msg).startswith("AUDIT:")


def audit_logger() -> logging.Logger:
    return logging.getLogger(AUDIT_LOGGER_NAME)


def audit(event: str, **fields: object) -> None:
    """Log one security event as ``AUDIT: event key=value …`` (auth failures, rate limiting, refused origins).

    Callers pass who did it (client identity, address, origin), never the secret they presented.
    """
    details = " ".join(f"{key}={_one_token(value)}" for key, value in fields.items())
    audit_logger().warning("AUDIT: %s%s", event, f" {details}" if details else "")


def _one_token(value: object) -> str:
    """Values come from clients (ids, origins): quoted when needed so one cannot forge a second log line."""
    text = str(value)
    return text if text and text.isprintable() and " " not in text else repr(text)


def configure_logging(
    *, level: str, data_dir: Path | None, console: bool | None = None, secrets: Iterable[str] = ()
) -> Path | None:
    """Install the daemon's handlers on the root logger (so uvicorn's lines land in the same places).

    ``console=None`` means "when stderr is a terminal"; foreground ``serve`` passes True. Returns the log file
    path, or None when ``data_dir`` is None or the file cannot be created (then the console is used instead).
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _OWN_HANDLER_ATTRIBUTE, False):
            root.removeHandler(handler)
            handler.close()

    redactor = RedactingFilter(secrets)
    formatter = _LineFormatter()
    handlers: list[_BatchWriter] = []
    log_file: Path | None = None
    if data_dir is not None:
        try:
            log_dir = data_dir / "logs"
            log_dir.mkdir(parents=True, exist_ok=True)
            log_file = log_dir / LOG_FILE_NAME
            handlers.append(_RotatingFile(log_file, max_bytes=LOG_FILE_MAX_BYTES, backups=LOG_FILE_BACKUPS))
            audit_path = log_dir / AUDIT_FILE_NAME
            audit_file = _RotatingFile(audit_path, max_bytes=LOG_FILE_MAX_BYTES, backups=LOG_FILE_BACKUPS)
            audit_file.addFilter(AuditOnly())
            handlers.append(audit_file)
        except OSError as exc:
            log_file = None
            console = True
            print(f"STORAGE: cannot write logs under {data_dir}: {exc.strerror or exc}", file=sys.stderr)
    if console if console is not None else _stderr_is_tty():
        handlers.append(_Console(sys.stderr))

    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(redactor)
    to_listener = _ToListener(handlers)
    setattr(to_listener, _OWN_HANDLER_ATTRIBUTE, True)
    root.addHandler(to_listener)
    root.setLevel(level)
    install_client_fault_log()  # the process starts with no client fault counted
    # The logging HOWTO's "Optimization": LOG_FORMAT shows no caller, thread or process, so records need not look
    # them up (a stack walk and two lookups on every line of a busy till).
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    # One line per HTTP request is noise for a print server; errors still come through uvicorn.error.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    uvicorn_error = logging.getLogger("uvicorn.error")
    for existing in [f for f in uvicorn_error.filters if isinstance(f, PerConnectionNoise)]:
        uvicorn_error.removeFilter(existing)
    uvicorn_error.addFilter(PerConnectionNoise())
    # websockets logs every bad handshake at INFO/ERROR with tracebacks; our own lines say what matters.
    logging.getLogger("websockets").setLevel(max(logging.WARNING, root.level))
    return log_file


def _stderr_is_tty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False
