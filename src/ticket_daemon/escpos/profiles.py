"""Printer profiles: what the renderer needs to know about the paper and the print head (docs/document.md "Profile")."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ..document.base import Profile
from .codepages import CodePages, default_pages, model_pages
from .printerdb import ModelProfile
from .textraster import BASE_DPI

FONT_A_WIDTH = 12  # dots at 203 dpi; font A is 12x24
FONT_B_WIDTH = 9  # font B is 9x17


@dataclass(frozen=True, slots=True)
class PrinterProfile:
    model: str
    paper_width_mm: int
    dpi: int
    dot_width: int  # printable dots per line at this dpi
    code_table: str  # the document's page; others may be switched to for single characters
    has_qr: bool
    chars_per_line: int  # font A
    chars_per_line_b: int  # font B
    # The pages text is printed in, with this printer's ESC t numbers (home: the document's page or the nearest).
    code_pages: CodePages
    printer_model: str | None = None  # the escpos-printer-db profile it was built from (None: no known model)
    full_cut: bool = True  # GS V 0 cuts; without it a "full" cut is partial (or only a feed)
    partial_cut: bool = True  # GS V 1 cuts


@dataclass(frozen=True, slots=True)
class KnownModel:
    paper_width_mm: int
    dots_203: int
    has_qr: bool


# docs/document.md "Profile"; looked up case-insensitively by full name or short name.
KNOWN_MODELS: dict[str, KnownModel] = {
    "58mm pt-210": KnownModel(58, 384, True),
    "pt-210": KnownModel(58, 384, True),
    "58mm gp-58n": KnownModel(58, 384, False),
    "gp-58n": KnownModel(58, 384, False),
    "80mm ec-pm-80250": KnownModel(80, 576, False),
    "ec-pm-80250": KnownModel(80, 576, False),
}


def dots_for_paper(paper_width_mm: int) -> int:
    """Generic printable width at 203 dpi: 58/72 mm → 384 dots, 80 mm and wider → 576 dots."""
    return 384 if paper_width_mm < 80 else 576


def scale_dots(dots_203: int, dpi: int) -> int:
    """Scale a 203-dpi width to ``dpi``, kept a multiple of 8 so raster rows are whole bytes."""
    return max(8, round(dots_203 * dpi / BASE_DPI / 8) * 8)


def profile_for(profile: Profile, model: ModelProfile | None = None) -> PrinterProfile:
    """The printer profile for a document's ``profile``, on a printer of ``model`` when it is known. Fields the
    document states are honoured over the known model's values (unlike the original, which ignored ``paper_width``
    and ``dpi``)."""
    if model is not None:
        return _model_profile(profile, model)
    given = profile.model_fields_set
    return _document_profile(
        profile.model,
        profile.paper_width,
        profile.dpi,
        profile.code_table,
        profile.has_qr,
        "paper_width" in given,
        "has_qr" in given,
    )


# A till sends the same profile on every ticket: its printer profile is worked out once per distinct profile (its
# arguments are positional, as keywords make every cache lookup build a longer key).
@lru_cache(maxsize=256)
def _document_profile(
    model: str, paper_width: int, dpi: int, code_table: str, has_qr: bool, paper_given: bool, has_qr_given: bool
) -> PrinterProfile:
    known = KNOWN_MODELS.get(model.strip().lower())
    if known is not None and not paper_given:
        paper = known.paper_width_mm
        dots_203 = known.dots_203
    else:
        paper = paper_width
        dots_203 = dots_for_paper(paper)
    return PrinterProfile(
        model=model,
        paper_width_mm=paper,
        dpi=dpi,
        dot_width=scale_dots(dots_203, dpi),
        code_table=code_table,
        has_qr=has_qr if (has_qr_given or known is None) else known.has_qr,
        # Characters per line follow the 203-dpi geometry; at 300/600 dpi the font cells scale with the dots.
        chars_per_line=dots_203 // FONT_A_WIDTH,
        chars_per_line_b=dots_203 // FONT_B_WIDTH,
        code_pages=default_pages(code_table),
    )


def _model_profile(profile: Profile, model: ModelProfile) -> PrinterProfile:
    """escpos-printer-db's values for ``model`` where it has them; what ``profile`` states wins over them, and
    the document's defaults fill what neither says."""
    given = profile.model_fields_set
    model_dpi = model.dpi or BASE_DPI  # the data's pixels are at its dpi; an unknown dpi is taken as 203
    dpi = profile.dpi if "dpi" in given or model.dpi is None else model.dpi
    paper: int = profile.paper_width
    dots_203 = dots_for_paper(paper)
    columns: tuple[int, ...] = ()
    dot_width = scale_dots(dots_203, dpi)
    if "paper_width" not in given and model.dot_width is not None:
        if model.paper_width_mm is not None:
            paper = round(model.paper_width_mm)
        dots_203 = round(model.dot_width * BASE_DPI / model_dpi)
        columns = model.font_columns  # counted for the model's own paper
        dot_width = model.dot_width if dpi == model_dpi else scale_dots(dots_203, dpi)
    return PrinterProfile(
        model=profile.model,
        paper_width_mm=paper,
        dpi=dpi,
        dot_width=dot_width,
        code_table=profile.code_table,
        has_qr=profile.has_qr if "has_qr" in given else model.has_qr,
        chars_per_line=columns[0] if columns else dots_203 // FONT_A_WIDTH,
        chars_per_line_b=columns[1] if len(columns) > 1 else dots_203 // FONT_B_WIDTH,
        code_pages=model_pages(model, profile.code_table),
        printer_model=model.key,
        full_cut=model.full_cut,
        partial_cut=model.partial_cut,
    )
