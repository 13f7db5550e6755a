"""The v1 print document: model, defaults, validation and categorised errors (docs/document.md).

The command models and the document reader load on first use (PEP 562): the daemon serves before it has read a
document, and importing a light part of this package (errors, the raw policy, the profile) does not build them.
"""

from typing import TYPE_CHECKING, Any

from .base import Align, Profile
from .errors import Category, DocumentError, TicketError, command_error

if TYPE_CHECKING:
    from .model import Document, TextStyle
    from .parse import parse_document


def __getattr__(name: str) -> Any:
    if name in ("Document", "TextStyle"):
        from . import model

        return getattr(model, name)
    if name == "parse_document":
        from .parse import parse_document

        return parse_document
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
