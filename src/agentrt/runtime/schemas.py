"""JSON Schema validators for capability inputs, built once per distinct schema."""

from __future__ import annotations

import functools
import json
from typing import Any

import jsonschema
from jsonschema.protocols import Validator


@functools.lru_cache(maxsize=1024)
def _validator(canonical: str) -> Validator:
    schema = json.loads(canonical)
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    cls.check_schema(schema)
    return cls(schema)


def validator_for(schema: dict[str, Any]) -> Validator:
    """A validator for ``schema``; raises ``jsonschema.SchemaError`` if the schema is invalid."""
    return _validator(json.dumps(schema, sort_keys=True))
