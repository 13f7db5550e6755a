"""The v1 print document: model, defaults, validation and categorised errors (docs/document.md)."""

from .errors import Category, DocumentError, TicketError, command_error
from .model import Align, Document, Profile, TextStyle
from .parse import parse_document

__all__ = [
    "Align",
    "Category",
    "Document",
    "DocumentError",
    "Profile",
    "TextStyle",
    "TicketError",
    "command_error",
    "parse_document",
]
