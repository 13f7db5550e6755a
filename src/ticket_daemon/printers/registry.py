"""The configured printers: which one a job goes to, the paper it is laid out for, and how they are reported to
clients (docs/protocol.md "Printers").

Built once from configuration and immutable afterwards; live states are passed in by whoever polls the printers.
Names and aliases are one namespace, compared case-insensitively (``casefold``): this is the only place that rule
is checked.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from ..config import ConfigError, PrinterSettings
from ..document.base import Profile
from ..escpos.printerdb import ModelProfile, find_model, model_from_identity
from ..escpos.profiles import KNOWN_MODELS, PrinterProfile, profile_for
from .errors import PrinterError, unknown_printer
from .identify import PrinterIdentity
from .status import PrinterState
from .uri import PrinterURI, parse_uri

DEFAULT_VIRTUAL_NAME = "default"
# The model of a document profile that states nothing (no known model is called this).
_NO_MODEL = "-"
# Where a printer's escpos-printer-db profile came from: its configuration (``profile`` or ``model``), what the
# printer said it is (GS I), or nowhere (the six Epson-numbered pages of a printer of no known model).
ProfileSource = Literal["configured", "identified", "default"]


@functools.lru_cache(maxsize=256)
def _laid_out_profile(printer: ConfiguredPrinter, stated_items: tuple[tuple[str, Any], ...]) -> PrinterProfile:
    """Every ticket asks for its printer's profile, and tickets of one till state the same profile: validating
    and building it once per (printer, stated profile) saves a pydantic round trip per job. Both are immutable."""
    return printer._profile_from(stated_items)


@dataclass(frozen=True, slots=True)
class ConfiguredPrinter:
    name: str
    uri: str
    model: str = ""  # the profile model it prints like, e.g. "80mm EC-PM-80250"
    # Other names clients may use, matched like names (docs/protocol.md "Choosing the printer").
    aliases: tuple[str, ...] = ()
    default: bool = False
    # The printer's own paper, when configured; None: its known model's value, else the document's.
    paper_width: int | None = None
    dpi: int | None = None
    code_table: str | None = None
    has_qr: bool | None = None
    profile: str = ""  # the escpos-printer-db profile configured for it ("TM-T20II"), checked at start-up
    identify: bool = True  # ask it what it is (GS I) when no profile is configured
    identity: PrinterIdentity | None = None  # what it said it is, once asked
    # The URI parsed once, when the printer is configured: a wrong one is a configuration error at start-up, and
    # no job parses it again.
    parsed_uri: PrinterURI = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "parsed_uri", parse_uri(self.uri))

    @property
    def printer_model(self) -> ModelProfile | None:
        """Its escpos-printer-db profile: configured, else its ``model``'s, else the one it identified as."""
        return self._printer_model_and_source()[0]

    def _printer_model_and_source(self) -> tuple[ModelProfile | None, ProfileSource]:
        configured = find_model(self.profile) or (
            find_model(self.model) if self.model.strip().lower() not in KNOWN_MODELS else None
        )
        if configured is not None:
            return configured, "configured"
        if self.identity is not None:
            identified = model_from_identity(self.identity.model, self.identity.manufacturer)
            if identified is not None:
                return identified, "identified"
        return None, "default"

    @property
    def wants_identification(self) -> bool:
        """Whether to ask the printer what it is: allowed, and no profile follows from its configuration."""
        return self.identify and self._printer_model_and_source()[1] != "configured"

    def identified_as(self, identity: PrinterIdentity) -> ConfiguredPrinter:
        """This printer, knowing what it said it is."""
        return dataclasses.replace(self, identity=identity)

    def profile_for(self, document_profile: Profile) -> PrinterProfile:
        """The profile a job for this printer is laid out for (docs/document.md "Profile"): what the
        printer states (configured, or implied by a known model) wins over the document's profile; what it does
        not state comes from the document."""
        fields_set = document_profile.model_fields_set
        stated_items = tuple((name, getattr(document_profile, name)) for name in sorted(fields_set | {"model"}))
        return _laid_out_profile(self, stated_items)

    def _profile_from(self, stated_items: tuple[tuple[str, Any], ...]) -> PrinterProfile:
        stated = dict(stated_items)
        printer_model = self.printer_model
        if printer_model is not None:
            # Its escpos-printer-db profile fixes the paper, dpi and QR support unless configured explicitly below.
            for key in ("paper_width", "dpi", "has_qr"):
                stated.pop(key, None)
        elif self.model.strip().lower() in KNOWN_MODELS:
            # The known model fixes the paper and QR support unless configured explicitly below.
            stated["model"] = self.model
            stated.pop("paper_width", None)
            stated.pop("has_qr", None)
        own = {"paper_width": self.paper_width, "dpi": self.dpi, "code_table": self.code_table, "has_qr": self.has_qr}
        stated.update({key: value for key, value in own.items() if value is not None})
        return profile_for(Profile.model_validate(stated), printer_model)

    @property
    def dot_width(self) -> int:
        """Dots per line of this printer's paper (what the virtual printer draws on); 80 mm when it states none."""
        return self.profile_for(Profile(model=self.model.strip() or _NO_MODEL)).dot_width

    @classmethod
    def from_settings(cls, settings: PrinterSettings) -> ConfiguredPrinter:
        """The printer a ``[[printers]]`` entry describes; a paper value no profile allows is a ``ConfigError``."""
        printer = cls(
            name=settings.name,
            uri=settings.uri,
            model=settings.model,
            aliases=tuple(settings.aliases),
            default=settings.default,
            paper_width=settings.paper_width,
            dpi=settings.dpi,
            code_table=settings.code_table,
            has_qr=settings.has_qr,
            profile=settings.profile.strip(),
            identify=settings.identify,
        )
        if printer.profile and find_model(printer.profile) is None:
            raise ConfigError(
                f"printers: printer '{settings.name}': profile '{printer.profile}' is not a printer model of "
                "escpos-printer-db (`ticket-daemon printers profiles` lists them)",
                kind="VALIDATION",
            )
        try:
            printer.profile_for(Profile(model=settings.model.strip() or _NO_MODEL))
        except ValidationError as error:
            first = error.errors()[0]
            field = ".".join(str(part) for part in first["loc"])
            raise ConfigError(
                f"printers: printer '{settings.name}': {field} {first['msg'][:1].lower()}{first['msg'][1:]}, "
                f"got {first.get('input')!r}",
                kind="VALIDATION",
            ) from None
        return printer


# PrinterDetail.printer_type and driver by URI scheme. Every supported link carries raw ESC/POS to a receipt
# printer, so they are "thermal" for the PrinterSummary; the built-in emulator is "virtual".
_PRINTER_TYPES = {
    "tcp": "thermal",
    "file": "thermal",
    "cups": "thermal",
    "win32": "thermal",
    "serial": "thermal",
    "usb": "thermal",
    "virtual": "virtual",
}
_DRIVERS = {
    "tcp": "ESC/POS raw TCP",
    "file": "ESC/POS raw device",
    "cups": "ESC/POS raw via CUPS",
    "win32": "ESC/POS raw via Windows spooler",
    "serial": "ESC/POS raw serial",
    "usb": "ESC/POS raw USB",
    "virtual": "ESC/POS emulator",
}

# PrinterDetail.status: docs/protocol.md "Printers" lists ready|offline|paused|error|unknown|paper_out|cover_open. Paper
# near its end still prints, so it is reported as ready (the dashboard can show the finer state).
_DETAIL_STATUS = {PrinterState.paper_near_end: "ready"}


def _profile_detail(printer: ConfiguredPrinter) -> dict[str, Any]:
    """The extension fields of a PrinterDetail about its model: ``profile`` (escpos-printer-db key, or null),
    ``profile_source`` and, once asked, what the printer ``reported`` (GS I). POS clients ignore unknown fields."""
    model, source = printer._printer_model_and_source()
    detail: dict[str, Any] = {"profile": model.key if model is not None else None, "profile_source": source}
    if printer.identity is not None:
        detail["reported"] = printer.identity.as_dict()
    return detail


def _key(name: str) -> str:
    return name.strip().casefold()


class PrinterRegistry:
    @classmethod
    def from_settings(cls, printers: Iterable[PrinterSettings]) -> PrinterRegistry:
        """The registry ``[[printers]]`` describes; any mistake in it is one ``VALIDATION:`` :class:`ConfigError`."""
        try:
            return cls([ConfiguredPrinter.from_settings(printer) for printer in printers])
        except PrinterError as error:  # a wrong URI or an ambiguous name is a configuration mistake
            raise ConfigError(f"printers: {error.message}", kind="VALIDATION") from None

    def __init__(self, printers: Iterable[ConfiguredPrinter]) -> None:
        configured = list(printers)
        if not configured:  # nothing configured: the built-in virtual printer, so the daemon works out of the box
            configured = [ConfiguredPrinter(DEFAULT_VIRTUAL_NAME, f"virtual://{DEFAULT_VIRTUAL_NAME}")]
        self._by_key: dict[str, ConfiguredPrinter] = {}
        for printer in configured:
            for label in (printer.name, *printer.aliases):
                holder = self._by_key.setdefault(_key(label), printer)
                if holder is not printer:
                    raise PrinterError(
                        f"Printer name or alias '{label}' is used by both '{holder.name}' and '{printer.name}'",
                        retryable=False,
                    )
        flagged = [printer.name for printer in configured if printer.default]
        if len(flagged) > 1:
            raise PrinterError(f"More than one default printer: {', '.join(flagged)}", retryable=False)
        self.printers: tuple[ConfiguredPrinter, ...] = tuple(configured)
        self.default: ConfiguredPrinter = next((p for p in configured if p.default), configured[0])

    def identified(self, name: str, identity: PrinterIdentity) -> ConfiguredPrinter:
        """Remember what printer ``name`` said it is; jobs chosen for it from now on are laid out for the profile it
        names. The only change a registry takes after it is built (the printers and their names stay)."""
        old = self._by_key[_key(name)]
        new = old.identified_as(identity)
        self.printers = tuple(new if printer is old else printer for printer in self.printers)
        self._by_key = {key: new if printer is old else printer for key, printer in self._by_key.items()}
        if self.default is old:
            self.default = new
        return new

    def get(self, name: str) -> ConfiguredPrinter | None:
        """The printer called ``name`` or having it as an alias (case-insensitive)."""
        return self._by_key.get(_key(name))

    def select(self, printer: str | None, model: str) -> ConfiguredPrinter:
        """docs/protocol.md "Choosing the printer": ``ticket.printer`` names the printer (unknown → not retryable);
        otherwise ``datos.profile.model`` is matched against names and aliases; otherwise the default printer."""
        if printer is not None and printer.strip():
            chosen = self.get(printer)
            if chosen is None:
                raise unknown_printer(printer, [p.name for p in self.printers])
            return chosen
        if model.strip():
            matched = self.get(model)
            if matched is not None:
                return matched
        return self.default

    def details(self, states: Mapping[str, PrinterState] | None = None) -> list[dict[str, Any]]:
        """PrinterDetail for every printer, in configuration order; ``states`` by printer name (missing: unknown)."""
        states = states or {}
        details = []
        for printer in self.printers:
            uri = printer.parsed_uri
            state = states.get(printer.name, PrinterState.unknown)
            details.append(
                {
                    "name": printer.name,
                    "port": uri.location,
                    "driver": _DRIVERS.get(uri.scheme, "unknown"),
                    "status": _DETAIL_STATUS.get(state, state.value),
                    "is_default": printer is self.default,
                    "is_virtual": uri.scheme == "virtual",
                    "printer_type": _PRINTER_TYPES.get(uri.scheme, "unknown"),
                    **_profile_detail(printer),
                }
            )
        return details

    def summary(self) -> dict[str, Any]:
        """PrinterSummary: ``ok`` when a thermal printer exists, ``warning`` when only non-thermal physical ones do,
        ``error`` when there are none (docs/protocol.md "Printers"). The built-in virtual printer is an ESC/POS
        thermal printer too (it prints every job, to PNG), so a virtual-only set-up is ``ok``; ``thermal_count``
        counts physical thermal printers only, so a client can still tell that no real printer is configured."""
        types = [_PRINTER_TYPES.get(p.parsed_uri.scheme, "unknown") for p in self.printers]
        thermal = types.count("thermal")
        virtual = types.count("virtual")
        physical = len(types) - virtual
        status = "ok" if thermal or virtual else "warning" if physical else "error"
        return {
            "status": status,
            "detected_count": len(types),
            "thermal_count": thermal,
            "default_name": self.default.name,
        }
