"""The base every document model shares, and the parts of the model the daemon needs before any document
arrives: the printer profile (configured printers have one) and alignment (code pages and profiles use it). Kept
apart from the command models (``model``), which the daemon loads only once it renders a document.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, StringConstraints, model_validator

from .codetables import CODE_TABLE_NAMES, DEFAULT_CODE_TABLE, CodeTableName
from .spellings import loose, lower, upper


class Align(StrEnum):
    LEFT = "left"
    CENTER = "center"
    RIGHT = "right"


AlignField = Annotated[Align, BeforeValidator(lower), loose("left", "center", "right")]


class Model(BaseModel):
    # docs/document.md "Document": keys nobody reads are ignored anywhere.
    model_config = ConfigDict(extra="ignore", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _null_is_not_given(cls, value: Any) -> Any:
        # The original (Go encoding/json) treated null as "not given": defaults apply, required fields stay required.
        if isinstance(value, dict) and None in value.values():  # most objects hold no null: no copy for them
            return {key: item for key, item in value.items() if item is not None}
        return value


# --- profile -------------------------------------------------------------------------------------------------

CODE_TABLES = CODE_TABLE_NAMES


class Profile(Model):
    # A model of only spaces names no printer: stripped, then required to be non-empty.
    model: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    paper_width: Literal[58, 72, 80, 100, 112, 120] = 80
    code_table: Annotated[CodeTableName, BeforeValidator(upper), loose(*CODE_TABLES)] = DEFAULT_CODE_TABLE
    dpi: Literal[203, 300, 600] = 203
    has_qr: bool = False
