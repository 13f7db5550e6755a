"""The daemon's one typed settings object (docs/configuration.md).

Precedence, lowest first: defaults < TOML file (``--config``) < environment ``TICKET_*`` (nested with ``__``, e.g.
``TICKET_SERVER__PORT=9000``) < command-line flags. Secrets (``auth_token``, ``dashboard_password_hash``) are
``SecretStr`` so they never show up in a repr or a log line. A bad configuration is one :class:`ConfigError` whose
``str()`` is a single ``CONFIG: …`` or ``VALIDATION: …`` line, never a traceback.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from .document.rawpolicy import RawPolicy

# Environment variable naming the TOML file when ``--config`` is not given.
CONFIG_FILE_ENV = "TICKET_CONFIG_FILE"

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


class ConfigError(Exception):
    """A configuration the daemon cannot start with. ``str()`` is one ``KIND: sentence`` line."""

    def __init__(self, message: str, *, kind: Literal["CONFIG", "VALIDATION"] = "CONFIG") -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


class _Section(BaseModel):
    # A misspelt key is an error, not a setting silently ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerSettings(_Section):
    # Local POS tabs only by default; binding 0.0.0.0 is an explicit choice (docs/configuration.md "[server]").
    host: str = "127.0.0.1"
    # 8766 is the port existing POS clients connect to; 0 picks a free port (tests).
    port: int = Field(default=8766, ge=0, le=65535)
    # Jobs waiting (queued + printing + waiting) across all printers: about an hour of a busy shop's receipts,
    # a few hundred MB at most; beyond it clients get "Queue full" at once instead of waiting on a socket.
    queue_capacity: int = Field(default=100, ge=1, le=100_000)
    # Tickets and previews per minute per connection (and 10 times that per address, docs/protocol.md "Rate limits and
    # floods"): a till prints a few per minute; 0 turns the limit off.
    rate_limit_per_minute: int = Field(default=30, ge=0, le=100_000)
    # When set, every ticket must carry it (docs/protocol.md "Auth token").
    auth_token: SecretStr = SecretStr("")
    # argon2 hash from ``ticket-daemon hash-password``; when set the dashboard asks for a password.
    dashboard_password_hash: SecretStr = SecretStr("")
    # Reported as ``build.env`` by /health.
    env: str = "local"
    # Extra page origins allowed to open /ws besides localhost; "*" allows every site (unsafe: any web page
    # the till's browser visits could print).
    allowed_origins: list[str] = []
    # One frame holds one document; 4 MB fits any real receipt with images. Bigger frames are closed with 1009.
    max_frame_bytes: int = Field(default=4 * 1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    # ``raw`` commands: print them, let only printing commands through, or refuse them (docs/document.md "raw").
    raw_policy: RawPolicy = "safe"
    # How documents are read (docs/document.md "Lenient (default) and strict"): "lenient" prints what the original
    # printed, with a default for each oddity named in the result; "strict" refuses every such oddity.
    documents: Literal["lenient", "strict"] = "lenient"
    log_level: LogLevel = "INFO"
    # Messages per second per connection, and the burst allowed above it: far beyond any real client, low
    # enough that a flood cannot monopolise the event loop. Persistent floods are closed with 1008.
    messages_per_second: float = Field(default=50.0, gt=0, le=100_000)
    message_burst: int = Field(default=200, ge=1, le=1_000_000)
    # Replies a connection may have unsent before it is closed: a client that never reads must not grow
    # memory or block a printer worker.
    outbound_queue_messages: int = Field(default=256, ge=8, le=100_000)
    # ...and the bytes they may add up to: 256 unread preview PNGs could be hundreds of MB.
    outbound_queue_bytes: int = Field(default=16 * 1024 * 1024, ge=64 * 1024, le=1024 * 1024 * 1024)
    # Upper bound for one job at the printer (open + send + close); transports have their own shorter timeouts.
    print_timeout_seconds: float = Field(default=120.0, gt=0, le=3600)
    # One printer status check (get_printers, /health): a dead printer must not hold up the reply.
    status_timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    # Status answers are reused this long, so a dashboard polling /health does not hammer the printers.
    status_cache_seconds: float = Field(default=3.0, ge=0, le=3600)
    # On stop, how long the job in progress may take to finish before the process exits anyway.
    shutdown_grace_seconds: float = Field(default=10.0, ge=0, le=600)
    # In-memory spool only ([storage] spool = "memory"): finished jobs remembered (without their bytes) for
    # job_status and duplicate ids. The SQLite spool keeps them for [spool] retention_days instead.
    job_history: int = Field(default=1000, ge=0, le=1_000_000)
    # Per-message deflate costs ~20% of the CPU per ack and saves little on short JSON replies: off unless asked.
    ws_compression: bool = False
    # Render budget (no single client holds the render workers for long): one render may take this long before its
    # worker process is killed and the job refused, so one costly document cannot hold a render worker that other tills
    # need.
    render_timeout_seconds: float = Field(default=10.0, gt=0, le=600)
    # ESC/POS bytes one job may render to: a long receipt with a logo is tens of KB; 2 MB is metres of paper.
    max_rendered_bytes: int = Field(default=2 * 1024 * 1024, ge=1024, le=256 * 1024 * 1024)
    # Validated document JSON stored with one job (its spool row): what one frame may carry, so defaults filled
    # in by validation cannot blow a row up past it.
    max_document_bytes: int = Field(default=4 * 1024 * 1024, ge=1024, le=256 * 1024 * 1024)
    # Render worker processes; 0 means one per CPU core.
    render_processes: int = Field(default=0, ge=0, le=256)
    # TLS: with both set the daemon serves https:// and wss:// only (a POS page served over HTTPS may not open a
    # plain ws:// socket). ``ticket-daemon tls init`` makes a local CA and these two files (README "TLS").
    tls_cert: Path | None = None
    tls_key: Path | None = None
    # Open connections at most (sockets, WebSockets included); beyond it new requests get 503, except /health,
    # which keeps a few places of its own so a supervisor can still see the daemon.
    max_connections: int = Field(default=1000, ge=8, le=1_000_000)
    # A client that has not finished sending its request headers this long after connecting is disconnected
    # (half-open floods); a real browser or POS sends them in milliseconds.
    header_timeout_seconds: float = Field(default=10.0, gt=0, le=600)
    # Open connections one address may hold: a till needs a handful (a tab or two, its HTTP requests); 64 leaves
    # room for a shop router's tills while one client cannot take every place under max_connections.
    max_connections_per_address: int = Field(default=64, ge=1, le=1_000_000)
    # Host names (``Host`` header) the daemon answers to besides localhost, IP addresses and this machine's own
    # names: a DNS-rebinding page reaches it under a name of its own and is refused (421).
    allowed_hosts: list[str] = []

    @model_validator(mode="after")
    def _tls_files_come_in_pairs(self) -> ServerSettings:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key must be set together (both files of `ticket-daemon tls init`)")
        return self


def _default_data_dir() -> Path:
    import platformdirs  # only when no data directory is given

    return Path(platformdirs.user_data_dir("ticket-daemon", appauthor=False))


class StorageSettings(_Section):
    # Spool, logs and the virtual printer's output.
    data_dir: Path = Field(default_factory=_default_data_dir)
    # "sqlite": accepted jobs survive crashes and restarts (<data_dir>/spool.sqlite3); "memory": lost on exit,
    # kept for benchmarks and throw-away demos.
    spool: Literal["sqlite", "memory"] = "sqlite"


class SpoolSettings(_Section):
    # A job cut off mid-send (the daemon crashed, the printer dropped the link, stalled or reported a fault after
    # it): print it again from the start once the printer is back (a torn receipt is useless) or fail it.
    interrupted_policy: Literal["reprint", "fail"] = "reprint"
    # A job waiting for its printer this long ends "expired": a 15-minute-old kitchen order is no longer wanted.
    job_ttl_seconds: float = Field(default=900.0, gt=0, le=7 * 24 * 3600)
    # Finished jobs are kept this long for job_status, duplicate ids and reprints, then pruned.
    retention_days: float = Field(default=7.0, ge=0, le=3650)
    # Upper bound on finished jobs kept, so a busy shop's database stays bounded whatever the retention.
    max_rows: int = Field(default=100_000, ge=1, le=10_000_000)
    # Retry of an unavailable printer: the first wait, doubled after every failed attempt up to the maximum.
    # Deterministic steps (no jitter): one daemon per shop, nothing to de-synchronise.
    retry_initial_seconds: float = Field(default=1.0, gt=0, le=3600)
    retry_max_seconds: float = Field(default=30.0, gt=0, le=3600)
    # How often finished jobs past the retention are pruned.
    prune_interval_seconds: float = Field(default=600.0, gt=0, le=7 * 24 * 3600)
    # An id is its client's for this long (docs/protocol.md "Ids"): long enough to catch a retry after a lost
    # ack, short enough that a till whose counter restarted prints its ids again. 0: every ticket prints (the original).
    duplicate_window_seconds: float = Field(default=600.0, ge=0, le=7 * 24 * 3600)


class PrinterSettings(_Section):
    name: str = Field(min_length=1, max_length=128)
    # docs/printers.md: tcp://, cups://, win32://, serial://, usb://, file://, virtual://
    uri: str = Field(min_length=1, max_length=1024)
    # Printer model (docs/document.md "Profile"); also matched against a document's ``profile.model``, and against
    # the escpos-printer-db profiles when ``profile`` is not set.
    model: str = ""
    # The escpos-printer-db profile it prints like ("TM-T20II"; ``ticket-daemon printers profiles`` lists them):
    # its code page numbers, fonts, paper, dpi, QR support and cutter. Empty: from ``model``, else asked of the
    # printer (``identify``), else the six Epson-numbered pages of a printer of no known model.
    profile: str = Field(default="", max_length=64)
    # Ask a tcp, serial or USB printer with no profile what model it is (GS I) when the daemon starts. Off for a
    # printer that prints the question instead of answering it.
    identify: bool = True
    aliases: list[str] = []
    default: bool = False
    # The printer's own paper (docs/document.md "Profile" values); unset: from ``model`` when it is a known model, else
    # the document's. The printer's paper wins over the document's. Their allowed values are checked where the
    # registry builds the printer's profile, with the same rules as a document's profile.
    paper_width: int | None = None
    dpi: int | None = None
    code_table: str | None = Field(default=None, min_length=1, max_length=32)
    has_qr: bool | None = None


class MqttSettings(_Section):
    # docs/protocol.md "MQTT": empty = no broker session (the daemon serves only its local front door).
    # mqtt://host:1883, or mqtts://host:8883 for TLS (ca_file/cert_file/key_file below).
    url: str = ""
    # This shop's name in topics (<topic_prefix>/<site>/…) and in its jobs' owner ("mqtt:<site>"): one per daemon.
    site: str = Field(default="", max_length=64, pattern=r"^[A-Za-z0-9_.-]*$")
    topic_prefix: str = Field(default="ticket-daemon", min_length=1, max_length=128, pattern=r"^[^#+]+$")
    username: str = ""
    password: SecretStr = SecretStr("")
    # Empty: ticket-daemon-<site>. The broker keeps the persistent session under this name: unique per daemon.
    client_id: str = Field(default="", max_length=128)
    # TLS for mqtts://: the CA that signed the broker's certificate (empty: the system's CAs), and a client
    # certificate + key when the broker authenticates daemons by certificate.
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    # Seconds between keep-alive pings; the broker declares the daemon offline (last will) after 1.5 x this.
    keepalive: int = Field(default=30, ge=5, le=3600)

    @model_validator(mode="after")
    def _site_is_named(self) -> MqttSettings:
        if self.url and not self.site:
            raise ValueError("mqtt.site is required when mqtt.url is set (it names this shop in the topics)")
        return self


class Settings(BaseSettings):
    """Everything the daemon is configured with. Build it with :func:`load_settings`."""

    model_config = SettingsConfigDict(
        env_prefix="TICKET_",
        env_nested_delimiter="__",
        case_sensitive=False,
        extra="forbid",
        frozen=True,
    )

    # The TOML file these settings were read from (None: defaults and environment only).
    config_file: Path | None = None
    server: ServerSettings = Field(default_factory=ServerSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    spool: SpoolSettings = Field(default_factory=SpoolSettings)
    # None configured: the printer registry provides ``virtual://default``, so ``serve`` prints out of the box.
    printers: list[PrinterSettings] = []
    # The fleet front door (docs/protocol.md "MQTT"); off unless ``url`` is set.
    mqtt: MqttSettings = Field(default_factory=MqttSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Highest first: flags (init kwargs) > TICKET_* environment > TOML file. No .env or secrets dir.
        config_file = getattr(init_settings, "init_kwargs", {}).get("config_file")
        toml = TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file) if config_file else None)
        return (init_settings, env_settings, toml)


def load_settings(config_file: str | Path | None = None, flags: Mapping[str, Any] | None = None) -> Settings:
    """Build the settings from every layer; raises :class:`ConfigError` with a one-line message.

    ``flags`` are command-line values, nested like the file (``{"server": {"port": 9000}}``); ``None`` values
    mean "flag not given" and are dropped so they do not hide the lower layers.
    """
    overrides = _without_none(dict(flags or {}))
    if config_file is None:
        # The file itself may be chosen by the environment (e.g. a systemd unit); a flag wins over it.
        config_file = os.environ.get(CONFIG_FILE_ENV) or None
    if config_file is not None:
        path = Path(config_file).expanduser()
        if not path.is_file():
            raise ConfigError(f"configuration file {str(path)!r} does not exist or is not a file")
        overrides["config_file"] = path
    try:
        return Settings(**overrides)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"configuration file {str(config_file)!r} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read configuration file {str(config_file)!r}: {exc.strerror or exc}") from None
    except ValidationError as exc:
        raise ConfigError(_describe(exc.errors()[0]), kind="VALIDATION") from None
    except ValueError as exc:  # e.g. an environment value that is not valid JSON for a list setting
        raise ConfigError(f"configuration: {exc}".splitlines()[0], kind="VALIDATION") from None


def _describe(error: ErrorDetails) -> str:
    where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"]).lstrip(".")
    message = error["msg"].removeprefix("Value error, ")
    if not where:
        return f"configuration: {message}"
    if error["type"] == "extra_forbidden":
        return f"setting '{where}' is not known (check its spelling and section)"
    if error["type"] == "missing":
        return f"setting '{where}' is required"
    given = error.get("input")
    shown = "" if isinstance(given, (dict, list)) or given is None else f", got {given!r}"
    # Secrets are never echoed: their location names them, their value stays out of the message.
    if where.endswith(("auth_token", "dashboard_password_hash", "password")):
        shown = ""
    return f"setting '{where}': {message}{shown}"


def _without_none(values: dict[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            nested = _without_none(value)
            if nested:
                cleaned[key] = nested
        elif value is not None:
            cleaned[key] = value
    return cleaned
