"""Base classes of request and response bodies.

Every request body refuses what a database would refuse later (and turn into a 500): NUL characters
(PostgreSQL text and JSONB cannot hold them), non-finite numbers (not JSON) and absurdly deep
nesting. Fields of an ``XUpdate`` that are ``NOT NULL`` in the store refuse an explicit ``null``.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, model_validator

MAX_DEPTH = 64
"""How deep a request body's JSON may nest."""


def _check_json(value: Any, depth: int = 0) -> None:
    if depth > MAX_DEPTH:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("strings may not contain NUL (\\u0000) characters")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("numbers must be finite (no NaN or Infinity)")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_json(key, depth + 1)
            _check_json(item, depth + 1)
    elif isinstance(value, list | tuple):
        for item in value:
            _check_json(item, depth + 1)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    not_null: ClassVar[tuple[str, ...]] = ()
    """Fields that may be left out but not set to ``null`` (``NOT NULL`` in the store)."""

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        _check_json(data)
        if isinstance(data, dict):
            for field in cls.not_null:
                wire = cls.model_fields[field].alias or field
                if any(key in data and data[key] is None for key in (field, wire)):
                    raise ValueError(f"{wire} may not be null")
        return data


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True, populate_by_name=True, serialize_by_alias=True)
