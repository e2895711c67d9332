"""JSON Schema validators for capability inputs, built once per distinct schema."""

from __future__ import annotations

import functools
import json
from typing import Any

import jsonschema
from jsonschema.protocols import Validator

_by_identity: dict[int, tuple[dict[str, Any], Validator]] = {}
_MAX_IDENTITIES = 4096


@functools.lru_cache(maxsize=1024)
def _validator(canonical: str) -> Validator:
    schema = json.loads(canonical)
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    cls.check_schema(schema)
    return cls(schema)


def validator_for(schema: dict[str, Any]) -> Validator:
    """A validator for ``schema``; raises ``jsonschema.SchemaError`` if the schema is invalid.

    The same schema object (a capability's, reused step after step) is found by identity;
    an equal one by its canonical JSON.
    """
    hit = _by_identity.get(id(schema))
    if hit is not None and hit[0] is schema:
        return hit[1]
    validator = _validator(json.dumps(schema, sort_keys=True))
    if len(_by_identity) >= _MAX_IDENTITIES:
        _by_identity.clear()
    _by_identity[id(schema)] = (schema, validator)
    return validator
