"""Plans and the ``${step}`` references between their steps."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

REFERENCE = re.compile(r"\$\{([A-Za-z0-9_-]+)((?:\.[A-Za-z0-9_-]+)*)\}")


class PlanStep(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=64)
    capability: str = Field(min_length=1)
    args: dict[str, Any] = Field(default_factory=dict)
    depends_on: list[str] = Field(default_factory=list)


class Plan(BaseModel):
    """``{"steps": [...]}``; no steps means "answer directly"."""

    model_config = ConfigDict(extra="forbid")

    steps: list[PlanStep] = Field(default_factory=list)


class ReferenceError_(LookupError):
    """A ``${…}`` names a step with no output or a field the output lacks."""


def references_in(value: Any) -> set[str]:
    """Ids of the steps that ``value`` (an arg, at any depth) refers to."""
    found: set[str] = set()
    if isinstance(value, str):
        found.update(match.group(1) for match in REFERENCE.finditer(value))
    elif isinstance(value, Mapping):
        for item in value.values():
            found |= references_in(item)
    elif isinstance(value, list):
        for item in value:
            found |= references_in(item)
    return found


def contains_reference(value: Any) -> bool:
    return bool(references_in(value))


def _lookup(outputs: Mapping[str, Any], step_id: str, path: str) -> Any:
    if step_id not in outputs:
        raise ReferenceError_(f"${{{step_id}{path}}}: step {step_id!r} has no output")
    value = outputs[step_id]
    for part in filter(None, path.split(".")):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise ReferenceError_(f"${{{step_id}{path}}}: the output of {step_id!r} has no {part!r}")
    return value


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def resolve_references(value: Any, outputs: Mapping[str, Any]) -> Any:
    """Replace references by outputs: a whole-string ``${s1}`` keeps the output's type,
    one inside a longer string is interpolated as text."""
    if isinstance(value, str):
        whole = REFERENCE.fullmatch(value)
        if whole:
            return _lookup(outputs, whole.group(1), whole.group(2))
        return REFERENCE.sub(lambda m: _as_text(_lookup(outputs, m.group(1), m.group(2))), value)
    if isinstance(value, Mapping):
        return {key: resolve_references(item, outputs) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve_references(item, outputs) for item in value]
    return value
