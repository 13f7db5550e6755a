"""The ``text`` and ``separator`` commands (docs/document.md "text", "separator, feed, cut, pulse, beep").

Only what a command asks for is sent: a style is switched on before its text and off right after, and alignment
returns to left at the end, so no command leaks state into the next. Styles a ``raw`` command set (say font B) are
left alone, which is what the clients that send them expect.
"""

from __future__ import annotations

from functools import lru_cache

from ..document.model import Align, SeparatorData, TextData, TextStyle
from .codepages import NO_SUBSTITUTIONS, EncodedText, Placement, as_is, encode_text, prepare_text
from .commands import LF, align, bold, character_size, font, reverse, underline
from .profiles import PrinterProfile
from .typefaces import BUILT_IN, Typefaces

ALIGN_NUMBERS = {Align.LEFT: 0, Align.CENTER: 1, Align.RIGHT: 2}
DEFAULT_STYLE = TextStyle()


# The commands switching a style on (non-default parts only: ESC M, GS !, ESC E, ESC -, GS B) and off again in
# reverse order. A document has a handful of styles, used on line after line: their commands are worked out once each.
@lru_cache(maxsize=512)
def _style_codes(font_name: str, size: str, is_bold: bool, underline_spec: str, inverse: bool) -> tuple[bytes, bytes]:
    underline_dots = int(underline_spec[0])  # "0pt", "1pt", "2pt"
    on = bytearray()
    off = bytearray()
    if font_name == "B":
        on += font(1)  # ESC M 1
    if size != "1x1":
        on += character_size(int(size[0]), int(size[2]))  # GS ! n
    if is_bold:
        on += bold(True)  # ESC E 1
    if underline_dots:
        on += underline(underline_dots)  # ESC - n
    if inverse:
        on += reverse(True)  # GS B 1
        off += reverse(False)
    if underline_dots:
        off += underline(0)
    if is_bold:
        off += bold(False)
    if size != "1x1":
        off += character_size(1, 1)
    if font_name == "B":
        off += font(0)
    return bytes(on), bytes(off)


def styled(
    text: str,
    style: TextStyle,
    alignment: Align,
    profile: PrinterProfile,
    *,
    line_start: bool = True,
    typefaces: Typefaces = BUILT_IN,
) -> EncodedText:
    """``text`` in ``style``: styles on, the encoded text, styles off."""
    on, off = _style_codes(style.font, style.size, style.bold, style.underline, style.inverse)
    plain = as_is(text, profile.code_pages)
    if plain is not None:  # prints as sent: no substitution to count, no image run to place
        return EncodedText(on + plain + off)
    placement = Placement(
        dot_width=profile.dot_width,
        dpi=profile.dpi,
        align=alignment,
        width_multiplier=style.width_multiplier,
        height_multiplier=style.height_multiplier,
        typefaces=typefaces,
    )
    body = encode_text(text, profile.code_pages, placement, line_start=line_start)
    return EncodedText(on + body.data + off, body.tally)


def text_bytes(data: TextData, profile: PrinterProfile, typefaces: Typefaces = BUILT_IN) -> EncodedText:
    """docs/document.md "text": the label before the content, on its own line when the alignments differ."""
    content = data.content
    label = data.label if data.label is not None and data.label.text else None
    out = bytearray()
    tally = NO_SUBSTITUTIONS
    current = Align.LEFT
    line_start = True
    if label is not None:
        own_line = label.align is not content.align
        # A label on its own line does not need the separator's trailing space (it would shift a right-aligned
        # label off the edge).
        label_text = label.text + (label.separator.rstrip() if own_line else label.separator)
        out += _switch_alignment(current, label.align)
        current = label.align
        part = styled(label_text, label.label_style, label.align, profile, typefaces=typefaces)
        out += part.data
        tally += part.tally
        if own_line:
            out += LF
        else:
            line_start = False
    out += _switch_alignment(current, content.align)
    current = content.align
    part = styled(
        content.text, content.content_style, content.align, profile, line_start=line_start, typefaces=typefaces
    )
    out += part.data
    tally += part.tally
    if data.new_line:
        out += LF
    # docs/document.md "text": alignment returns to left after each command.
    out += _switch_alignment(current, Align.LEFT)
    return EncodedText(bytes(out), tally)


def line_bytes(text: str, alignment: Align, profile: PrinterProfile, typefaces: Typefaces = BUILT_IN) -> EncodedText:
    """One plain line at ``alignment`` then LF, alignment back to left (separators, QR ``human_text``)."""
    line = styled(text, DEFAULT_STYLE, alignment, profile, typefaces=typefaces)
    data = _switch_alignment(Align.LEFT, alignment) + line.data + LF + _switch_alignment(alignment, Align.LEFT)
    return EncodedText(data, line.tally)


def separator_bytes(data: SeparatorData, profile: PrinterProfile, typefaces: Typefaces = BUILT_IN) -> EncodedText:
    """docs/document.md "separator, feed, cut, pulse, beep": exactly ``length`` characters (``char`` repeated then
    cut), centred, then LF."""
    length = data.length if data.length is not None else profile.chars_per_line
    prepared = prepare_text(data.char.replace("\n", "").replace("\r", "").replace("\t", " "), profile.code_pages)
    unit = prepared.text or "-"  # a char made only of control characters leaves nothing to repeat
    line = (unit * -(-length // len(unit)))[:length]
    rendered = line_bytes(line, Align.CENTER, profile, typefaces)
    return EncodedText(rendered.data, prepared.tally + rendered.tally)


def _switch_alignment(current: Align, wanted: Align) -> bytes:
    return b"" if current is wanted else _ALIGN_COMMANDS[wanted]


_ALIGN_COMMANDS = {alignment: align(number) for alignment, number in ALIGN_NUMBERS.items()}  # ESC a n
