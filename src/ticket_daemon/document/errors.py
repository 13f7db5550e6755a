"""Categorised errors: ``str(error)`` is the client-facing ``CATEGORY: sentence`` of docs/document.md "Errors".

Clients split the message on the first ``:``, so the category always comes first. ``retryable`` tells the spool
whether trying again later may succeed (printer off, paper out) or not (bad document, unknown printer).
"""

from __future__ import annotations

from enum import StrEnum


class Category(StrEnum):
    VALIDATION = "VALIDATION"
    JSON = "JSON"
    COMMAND = "COMMAND"
    TEXT = "TEXT"
    IMAGE = "IMAGE"
    BARCODE = "BARCODE"
    QR = "QR"
    TABLE = "TABLE"
    RAW = "RAW"
    PRINTER = "PRINTER"
    EXECUTION = "EXECUTION"
    STORAGE = "STORAGE"


class TicketError(Exception):
    """Base of every error the daemon reports to a client."""

    category: Category = Category.EXECUTION
    retryable: bool = False

    def __init__(self, message: str, *, category: Category | None = None, retryable: bool | None = None) -> None:
        super().__init__(message)
        self.message = message
        if category is not None:
            self.category = category
        if retryable is not None:
            self.retryable = retryable

    def __str__(self) -> str:
        return f"{self.category.value}: {self.message}"


class DocumentError(TicketError):
    """The document cannot be printed as sent; never retryable."""

    category = Category.VALIDATION
    retryable = False


def command_error(category: Category, index: int, kind: str, sentence: str) -> DocumentError:
    """An error about ``commands[index]``: ``CATEGORY: <sentence> at command <i> (<type>)``.

    docs/document.md "Errors" gives literal texts clients match with ``startsWith`` (``TABLE: Columns exceed paper
    width…``), so the sentence comes first and the location last, like its ``… at command 3`` example.
    """
    return DocumentError(f"{sentence}{command_location(index, kind)}", category=category)


def command_location(index: int, kind: str) -> str:
    """The suffix :func:`command_error` appends; lets callers tell whether a message already names its command."""
    return f" at command {index} ({kind})"
