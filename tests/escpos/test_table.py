"""A POS prints a table of items: columns line up, shrink to fit the paper, wrap long names, and never print wider
than the paper (docs/document.md "table")."""

from __future__ import annotations

from typing import Any

import pytest

from ticket_daemon.document import Align, DocumentError, Profile, parse_document
from ticket_daemon.document.model import TableData
from ticket_daemon.escpos import profile_for, render_job
from ticket_daemon.escpos.table import fit_widths, pad_cell, table_bytes, wrap_cell

PRINTER_58 = profile_for(Profile(model="58mm PT-210"))  # WPC1252, 32 characters per line
BOLD_ON, BOLD_OFF = b"\x1b\x45\x01", b"\x1b\x45\x00"
ALIGN_LEFT, ALIGN_CENTER, ALIGN_RIGHT = b"\x1b\x61\x00", b"\x1b\x61\x01", b"\x1b\x61\x02"


def table(data: dict[str, Any], printer: Any = PRINTER_58) -> bytes:
    return table_bytes(TableData.model_validate(data), printer).data


ITEMS = {
    "definition": {"columns": [{"name": "Item", "width": 10}, {"name": "Qty", "width": 3, "align": "right"}]},
    "rows": [["Cafe", "2"], ["Te", "10"]],
}


def with_options(**options: Any) -> dict[str, Any]:
    return {**ITEMS, "options": options}


# --- auto_reduce ---------------------------------------------------------------------------------------------


def test_columns_that_fit_are_left_alone() -> None:
    assert fit_widths([10, 20], 1, 32, auto_reduce=True) == [10, 20]


def test_auto_reduce_takes_from_the_widest_column_leftmost_first() -> None:
    # needs 41, has 32: nine characters come off, alternating between the two equal columns, left first.
    assert fit_widths([20, 20], 1, 32, auto_reduce=True) == [15, 16]
    assert fit_widths([3, 25, 10], 1, 32, auto_reduce=True) == [3, 17, 10]


def test_auto_reduce_never_shrinks_a_column_to_less_than_three() -> None:
    assert fit_widths([4, 4, 4, 20], 2, 20, auto_reduce=True) == [3, 3, 4, 4]
    with pytest.raises(DocumentError) as caught:
        fit_widths([3, 3, 3], 1, 8, auto_reduce=True)
    assert str(caught.value) == "TABLE: Columns exceed paper width (needs 11, has 8)"


def test_without_auto_reduce_a_table_too_wide_is_refused() -> None:
    with pytest.raises(DocumentError) as caught:
        fit_widths([20, 20], 1, 32, auto_reduce=False)
    assert str(caught.value) == "TABLE: Columns exceed paper width (needs 41, has 32)"


def test_render_names_the_table_that_does_not_fit() -> None:
    document = parse_document(
        {
            "version": "1.0",
            "profile": {"model": "58mm PT-210"},
            "commands": [
                {"type": "feed"},
                {
                    "type": "table",
                    "data": {
                        "definition": {"columns": [{"name": "A", "width": 20}, {"name": "B", "width": 20}]},
                        "rows": [["a", "b"]],
                        "options": {"auto_reduce": False},
                    },
                },
            ],
        }
    )
    with pytest.raises(DocumentError) as caught:
        render_job(document)
    assert str(caught.value) == "TABLE: Columns exceed paper width (needs 41, has 32) at command 1 (table)"


# --- cells ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "alignment", "expected"),
    [
        ("ab", Align.LEFT, "ab   "),
        ("ab", Align.RIGHT, "   ab"),
        ("ab", Align.CENTER, " ab  "),  # the odd space goes right
        ("abc", Align.CENTER, " abc "),
        ("abcdefg", Align.LEFT, "abcde"),
        ("abcdefg", Align.RIGHT, "abcde"),
    ],
)
def test_cells_are_padded_or_truncated_to_the_column_width(text: str, alignment: Align, expected: str) -> None:
    assert pad_cell(text, 5, alignment) == expected


@pytest.mark.parametrize(
    ("text", "width", "lines"),
    [
        ("Pastel de Chocolate", 17, ["Pastel de", "Chocolate"]),
        ("a b c d e", 3, ["a b", "c d", "e"]),
        ("ABCDEFGHIJ", 4, ["ABCD", "EFGH", "IJ"]),
        ("x ABCDEFGHIJ y", 4, ["x", "ABCD", "EFGH", "IJ y"]),
        ("  |__ Extra queso (+)", 14, ["  |__ Extra", "queso (+)"]),
        ("one\ntwo", 10, ["one", "two"]),
        ("", 5, [""]),
    ],
)
def test_words_wrap_greedily_and_too_long_words_are_split(text: str, width: int, lines: list[str]) -> None:
    assert wrap_cell(text, width) == lines


# --- whole tables ------------------------------------------------------------------------------------------------


def test_left_aligned_table_prints_bold_header_then_rows() -> None:
    assert table(with_options(align="left")) == (
        BOLD_ON + b"Item       Qty\n" + BOLD_OFF + b"Cafe         2\n" + b"Te          10\n"
    )


def test_table_is_centred_by_default_keeping_full_width_lines() -> None:
    assert table(ITEMS) == (
        ALIGN_CENTER + BOLD_ON + b"Item       Qty\n" + BOLD_OFF + b"Cafe         2\n" + b"Te          10\n" + ALIGN_LEFT
    )


def test_right_aligned_table() -> None:
    assert table(with_options(align="right", header_bold=False)) == (
        ALIGN_RIGHT + b"Item       Qty\nCafe         2\nTe          10\n" + ALIGN_LEFT
    )


def test_header_bold_false_prints_a_plain_header() -> None:
    assert table(with_options(align="left", header_bold=False)) == b"Item       Qty\nCafe         2\nTe          10\n"


def test_show_headers_false_prints_only_the_rows() -> None:
    assert table({**with_options(align="left"), "show_headers": False}) == b"Cafe         2\nTe          10\n"


def test_column_spacing_separates_the_columns() -> None:
    assert table({**with_options(align="left", column_spacing=3), "show_headers": False}) == (
        b"Cafe           2\nTe            10\n"
    )


def test_centred_column_puts_the_odd_space_right() -> None:
    data = {
        "definition": {"columns": [{"name": "N", "width": 4, "align": "center"}, {"name": "X", "width": 1}]},
        "show_headers": False,
        "rows": [["a", "b"]],
        "options": {"align": "left"},
    }
    assert table(data) == b" a   b\n"


def test_a_long_cell_wraps_and_the_row_grows_to_its_height() -> None:
    data = {
        "definition": {"columns": [{"name": "Item", "width": 8}, {"name": "$", "width": 4, "align": "right"}]},
        "show_headers": False,
        "rows": [["Pastel de Chocolate", "55"]],
        "options": {"align": "left"},
    }
    assert table(data) == b"Pastel     55\nde\nChocolat\ne\n"


def test_without_word_wrap_a_long_cell_is_truncated() -> None:
    data = {
        "definition": {"columns": [{"name": "Item", "width": 8}, {"name": "$", "width": 4, "align": "right"}]},
        "show_headers": False,
        "rows": [["Pastel de Chocolate", "55"]],
        "options": {"align": "left", "word_wrap": False},
    }
    assert table(data) == b"Pastel d   55\n"


def test_widths_count_characters_not_bytes() -> None:
    pc850 = profile_for(Profile(model="58mm PT-210", code_table="PC850"))
    data = {
        "definition": {"columns": [{"name": "A", "width": 5, "align": "right"}, {"name": "B", "width": 2}]},
        "show_headers": False,
        "rows": [["Café", "ñ"]],
        "options": {"align": "left"},
    }
    assert table(data, pc850) == b" Caf\x82 \xa4\n"


def test_definition_paper_width_limits_the_table_instead_of_the_printer() -> None:
    data = {
        "definition": {"columns": [{"name": "A", "width": 10}, {"name": "B", "width": 10}], "paper_width": 12},
        "show_headers": False,
        "rows": [["abcdefghij", "klmnopqrst"]],
        "options": {"align": "left", "word_wrap": False},
    }
    # needs 21, has 12: columns become 5 and 6.
    assert table(data) == b"abcde klmnop\n"


def test_a_reduced_table_fits_the_paper_line_for_line() -> None:
    data = {
        "definition": {
            "columns": [{"name": "ORD", "width": 6}, {"name": "ITEM", "width": 30}, {"name": "$", "width": 10}]
        },
        "rows": [["#001", "Pizza Familiar 16 pulgadas extra grande", "$250.00"]],
    }
    lines = table(data).removeprefix(ALIGN_CENTER).removesuffix(ALIGN_LEFT)
    for line in lines.replace(BOLD_ON, b"").replace(BOLD_OFF, b"").splitlines():
        assert len(line) == 32


def test_numbers_in_cells_print_as_written() -> None:
    data = {
        "definition": {"columns": [{"name": "Q", "width": 4, "align": "right"}]},
        "show_headers": False,
        "rows": [[2.5]],
        "options": {"align": "left"},
    }
    assert table(data) == b" 2.5\n"


def test_a_row_with_the_wrong_number_of_cells_is_refused_before_printing() -> None:
    document = {
        "version": "1.0",
        "profile": {"model": "x"},
        "commands": [{"type": "table", "data": {**ITEMS, "rows": [["a", "b"], ["c"]]}}],
    }
    with pytest.raises(DocumentError) as caught:
        parse_document(document)
    assert str(caught.value) == "TABLE: row 1 has 1 cells, expected 2 at command 0 (table)"


def test_tabs_and_control_characters_in_cells_do_not_break_the_columns() -> None:
    data = {
        "definition": {"columns": [{"name": "A", "width": 4}, {"name": "B", "width": 2}]},
        "show_headers": False,
        "rows": [["a\tb\x1bc", "d"]],
        "options": {"align": "left"},
    }
    assert table(data) == b"a bc d\n"
