"""The ``text`` and ``separator`` commands (docs/document.md "text", "separator, feed, cut, pulse, beep").

Only what a command asks for is sent: a style is switched on before its text and off right after, and alignment
returns to left at the end, so no command leaks state into the next. Styles a ``raw`` command set (say font B) are
left alone, which is what the clients that send them expect.
"""

from __future__ import annotations

from functools import lru_cache

from ..document.model import Align, SeparatorData, TextData, TextStyle
from ..document.plaindoc import DEFAULT_STYLE, LabelSpan, Span, StyleKey
from .codepages import NO_SUBSTITUTIONS, EncodedText, Placement, as_is, encode_text, prepare_text
from .commands import LF, align, bold, character_size, font, reverse, underline
from .profiles import PrinterProfile
from .typefaces import BUILT_IN, Typefaces

ALIGN_NUMBERS = {Align.LEFT: 0, Align.CENTER: 1, Align.RIGHT: 2}


def style_key(style: TextStyle) -> StyleKey:
    """A text style as the layout reads it (both readings of a document give the same key)."""
    return (style.font, style.size, style.bold, style.underline, style.inverse)


# The commands switching a style on (non-default parts only: ESC M, GS !, ESC E, ESC -, GS B) and off again in
# reverse order. A document has a handful of styles, used on line after line: their commands are worked out once each.
@lru_cache(maxsize=512)
def style_codes(style: StyleKey) -> tuple[bytes, bytes]:
    font_name, size, is_bold, underline_spec, inverse = style
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


# The default style switches nothing on or off: most lines of a receipt are in it, and this skips hashing its key.
_UNSTYLED = style_codes(DEFAULT_STYLE)


def styled(
    text: str,
    style: StyleKey,
    alignment: Align,
    profile: PrinterProfile,
    *,
    line_start: bool = True,
    typefaces: Typefaces = BUILT_IN,
) -> EncodedText:
    """``text`` in ``style``: styles on, the encoded text, styles off."""
    on, off = style_codes(style)
    plain = as_is(text, profile.code_pages)
    if plain is not None:  # prints as sent: no substitution to count, no image run to place
        return EncodedText(on + plain + off)
    size = style[1]
    placement = Placement(
        dot_width=profile.dot_width,
        dpi=profile.dpi,
        align=alignment,
        width_multiplier=int(size[0]),
        height_multiplier=int(size[2]),
        typefaces=typefaces,
    )
    body = encode_text(text, profile.code_pages, placement, line_start=line_start)
    return EncodedText(on + body.data + off, body.tally)


def text_bytes(data: TextData, profile: PrinterProfile, typefaces: Typefaces = BUILT_IN) -> EncodedText:
    """docs/document.md "text" (see :func:`text_line`)."""
    content = data.content
    label = data.label
    return text_line(
        (label.text, label.separator, style_key(label.label_style), label.align) if label is not None else None,
        (content.text, style_key(content.content_style), content.align),
        data.new_line,
        profile,
        typefaces,
    )


def text_line(
    label: LabelSpan | None,
    content: Span,
    new_line: bool,
    profile: PrinterProfile,
    typefaces: Typefaces = BUILT_IN,
) -> EncodedText:
    """docs/document.md "text": the label before the content, on its own line when the alignments differ."""
    data = text_as_sent(label, content, new_line, profile)
    if data is not None:
        return EncodedText(data)
    return text_line_general(label, content, new_line, profile, typefaces)


def text_as_sent(label: LabelSpan | None, content: Span, new_line: bool, profile: PrinterProfile) -> bytes | None:
    """:func:`text_line`'s bytes when the label and the content print as sent (no substitution, no image), else
    None. The everyday text command: one encoding a part, no placement to work out."""
    text, style, alignment = content
    encoded = as_is(text, profile.code_pages)
    if encoded is None:
        return None
    on, off = _UNSTYLED if style is DEFAULT_STYLE else style_codes(style)
    end = _LINE_END[new_line][alignment]
    if label is None or not label[0]:
        return b"".join((_ALIGN_FROM_LEFT[alignment], on, encoded, off, end))
    label_text, separator, label_style, label_align = label
    own_line = label_align is not alignment
    label_encoded = as_is(label_text + (separator.rstrip() if own_line else separator), profile.code_pages)
    if label_encoded is None:
        return None
    label_on, label_off = _UNSTYLED if label_style is DEFAULT_STYLE else style_codes(label_style)
    between = LF + _ALIGN_COMMANDS[alignment] if own_line else b""
    # One join, not a chain of concatenations: this runs for nearly every line of every receipt.
    return b"".join((_ALIGN_FROM_LEFT[label_align], label_on, label_encoded, label_off, between, on, encoded, off, end))


def text_line_general(
    label: LabelSpan | None,
    content: Span,
    new_line: bool,
    profile: PrinterProfile,
    typefaces: Typefaces = BUILT_IN,
) -> EncodedText:
    """:func:`text_line` without its shortcut for text that prints as sent (which must agree with this)."""
    text, style, alignment = content
    if label is not None and not label[0]:
        label = None  # an empty label prints nothing, not even its separator
    out = bytearray()
    tally = NO_SUBSTITUTIONS
    current = Align.LEFT
    line_start = True
    if label is not None:
        label_text, separator, label_style, label_align = label
        own_line = label_align is not alignment
        # A label on its own line does not need the separator's trailing space (it would shift a right-aligned
        # label off the edge).
        label_text += separator.rstrip() if own_line else separator
        out += _switch_alignment(current, label_align)
        current = label_align
        part = styled(label_text, label_style, label_align, profile, typefaces=typefaces)
        out += part.data
        tally += part.tally
        if own_line:
            out += LF
        else:
            line_start = False
    out += _switch_alignment(current, alignment)
    current = alignment
    part = styled(text, style, alignment, profile, line_start=line_start, typefaces=typefaces)
    out += part.data
    tally += part.tally
    if new_line:
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
    """docs/document.md "separator, feed, cut, pulse, beep" (see :func:`separator_line`)."""
    return separator_line(data.char, data.length, profile, typefaces)


def separator_line(
    char: str, length: int | None, profile: PrinterProfile, typefaces: Typefaces = BUILT_IN
) -> EncodedText:
    """docs/document.md "separator, feed, cut, pulse, beep": exactly ``length`` characters (``char`` repeated then
    cut), centred, then LF."""
    data = separator_as_sent(char, length, profile)
    if data is not None:
        return EncodedText(data)
    if length is None:
        length = profile.chars_per_line
    prepared = prepare_text(char.replace("\n", "").replace("\r", "").replace("\t", " "), profile.code_pages)
    unit = prepared.text or "-"  # a char made only of control characters leaves nothing to repeat
    line = (unit * -(-length // len(unit)))[:length]
    rendered = line_bytes(line, Align.CENTER, profile, typefaces)
    return EncodedText(rendered.data, prepared.tally + rendered.tally)


def separator_as_sent(char: str, length: int | None, profile: PrinterProfile) -> bytes | None:
    """:func:`separator_line`'s bytes when ``char`` is one character that prints as sent ("-", "="), else None."""
    if len(char) == 1 and char.isascii() and char.isprintable():
        repeated = as_is(char * (profile.chars_per_line if length is None else length), profile.code_pages)
        if repeated is not None:
            return _CENTERED_LINE_START + repeated + _CENTERED_LINE_END
    return None


def _switch_alignment(current: Align, wanted: Align) -> bytes:
    return b"" if current is wanted else _ALIGN_COMMANDS[wanted]


_ALIGN_COMMANDS = {alignment: align(number) for alignment, number in ALIGN_NUMBERS.items()}  # ESC a n
_CENTERED_LINE_START = _switch_alignment(Align.LEFT, Align.CENTER)
_CENTERED_LINE_END = LF + _switch_alignment(Align.CENTER, Align.LEFT)
_ALIGN_FROM_LEFT = {alignment: _switch_alignment(Align.LEFT, alignment) for alignment in Align}
# What ends a text command at each alignment: LF when asked for, then alignment back to left.
_LINE_END = {
    new_line: {alignment: (LF if new_line else b"") + _switch_alignment(alignment, Align.LEFT) for alignment in Align}
    for new_line in (False, True)
}
