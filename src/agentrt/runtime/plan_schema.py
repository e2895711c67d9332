"""The plan schema with each step's arguments tied to its capability's input schema.

Constrained decoders (the built-in local model's JSON-schema grammar) can then only write
plans whose steps name real capabilities with arguments of the right shape, and — with
numbered ids — whose ids and dependencies are well formed. Other providers accept it as
ordinary structured-output JSON Schema.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

DEFAULT_NUMBERED_STEPS = 10
STEP_ID_SCHEMA: dict[str, Any] = {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,32}$"}
"""A step id in a per-capability plan that is not numbered: short, so a small model cannot ramble in it."""


def _pointer(name: str) -> str:
    """``name`` escaped as one JSON-pointer segment."""
    return name.replace("~", "~0").replace("/", "~1")


def _rewrite_refs(value: Any, prefix: str) -> Any:
    """``value`` with local ``#/$defs/X`` / ``#/definitions/X`` refs renamed to ``#/$defs/<prefix>X``."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key == "$ref" and isinstance(item, str):
                for root in ("#/$defs/", "#/definitions/"):
                    if item.startswith(root):
                        item = f"#/$defs/{_pointer(prefix)}{item[len(root) :]}"
                        break
                else:
                    raise ValueError(f"unsupported $ref {item!r}")
                out[key] = item
            elif key in ("$defs", "definitions"):
                continue
            else:
                out[key] = _rewrite_refs(item, prefix)
        return out
    if isinstance(value, list):
        return [_rewrite_refs(item, prefix) for item in value]
    return value


MAX_GRAMMAR_BOUND = 64
"""Length and count bounds above this are left out of the plan schema: a constrained
decoder turns ``maxLength: 2000`` into a rule repeated 2000 times (llama.cpp refuses such
grammars). The capability's full schema still validates the plan's args afterwards."""
_BOUNDS = ("maxLength", "maxItems", "maxProperties", "minLength", "minItems", "minProperties")


def _without_large_bounds(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: _without_large_bounds(item)
            for key, item in value.items()
            if not (key in _BOUNDS and isinstance(item, int) and item > MAX_GRAMMAR_BOUND)
        }
    if isinstance(value, list):
        return [_without_large_bounds(item) for item in value]
    return value


def _args_schema(name: str, schema: Any, defs: dict[str, Any]) -> dict[str, Any]:
    """A capability's input schema as a plan step's ``args`` schema (always an object).

    Its own ``$defs`` are hoisted into ``defs`` as ``<name>.<def>``, its refs rewritten to
    match; a schema with any other kind of ``$ref`` becomes ``{"type": "object"}``.
    """
    if not isinstance(schema, Mapping) or not schema:
        return {"type": "object"}
    prefix = f"{name}."
    hoisted: dict[str, Any] = {}
    try:
        args: dict[str, Any] = _without_large_bounds(_rewrite_refs(dict(schema), prefix))
        for key in ("$defs", "definitions"):
            for def_name, definition in (schema.get(key) or {}).items():
                hoisted[f"{prefix}{def_name}"] = _without_large_bounds(_rewrite_refs(definition, prefix))
    except ValueError:
        return {"type": "object"}
    defs.update(hoisted)
    args.pop("$schema", None)
    args.pop("$id", None)
    if "type" not in args and not any(k in args for k in ("anyOf", "oneOf", "allOf", "$ref", "const", "enum")):
        args["type"] = "object"
    return args


def _step_ids(count: int, taken: Collection[str]) -> list[str]:
    """``count`` fresh step ids ``s1``, ``s2``, ..., skipping those already ``taken``."""
    ids: list[str] = []
    number = 0
    while len(ids) < count:
        number += 1
        if f"s{number}" not in taken:
            ids.append(f"s{number}")
    return ids


def per_capability_plan_schema(
    capabilities: Sequence[Mapping[str, Any]],
    *,
    max_steps: int | None = None,
    numbered: bool = True,
    completed_ids: Sequence[str] = (),
    taken_ids: Sequence[str] = (),
) -> dict[str, Any]:
    """The plan schema with each step's ``args`` tied to its capability's input schema.

    ``capabilities`` are mappings with ``name`` and ``input_schema``, as
    ``CapabilityGraph.describe()`` returns them. Each step is an ``anyOf`` over the
    capabilities, one branch per capability: ``capability`` is that name (``const``) and
    ``args`` its input schema (shared through ``$defs``). A plan matching this schema also
    matches the planner's ``plan_schema``; ``{"steps": []}`` always matches.

    ``numbered`` (the default) also fixes the step ids and what they may depend on: the
    n-th step is ``s<n>``, skipping ``completed_ids`` (steps of this turn that succeeded)
    and ``taken_ids`` (any other id already used in this turn, e.g. failed steps), and
    its ``depends_on`` lists only earlier steps or completed ones. Ids and
    dependencies are where small models go wrong most (repeated ids, argument names as
    dependencies); numbered, a constrained plan cannot get them wrong. It needs
    ``max_steps`` (default 10). ``numbered=False`` leaves ids free (short, word-like) and
    ``depends_on`` any list of such ids.
    """
    defs: dict[str, Any] = {}
    args_refs: dict[str, dict[str, Any]] = {}
    for capability in capabilities:
        name = str(capability["name"])
        defs[f"{name}.args"] = _args_schema(name, capability.get("input_schema"), defs)
        args_refs[name] = {"$ref": f"#/$defs/{_pointer(name)}.args"}

    def step(sid: dict[str, Any], depends_on: dict[str, Any]) -> dict[str, Any]:
        return {
            "anyOf": [
                {
                    "type": "object",
                    "properties": {
                        "id": sid,
                        "capability": {"const": name},
                        "args": args,
                        "depends_on": depends_on,
                    },
                    "required": ["id", "capability", "args", "depends_on"],
                    "additionalProperties": False,
                }
                for name, args in args_refs.items()
            ]
        }

    steps: dict[str, Any]
    if not args_refs:
        steps = {"type": "array", "const": []}
    elif not numbered:
        steps = {"type": "array", "items": step(STEP_ID_SCHEMA, {"type": "array", "items": STEP_ID_SCHEMA})}
        if max_steps is not None:
            steps["maxItems"] = max_steps
    else:
        count = DEFAULT_NUMBERED_STEPS if max_steps is None else max_steps
        ids = _step_ids(count, {*completed_ids, *taken_ids})
        for index, sid in enumerate(ids):
            earlier = [*completed_ids, *ids[:index]]
            depends_on: dict[str, Any] = (
                {"type": "array", "items": {"enum": earlier}, "maxItems": len(earlier)} if earlier else {"const": []}
            )
            defs[f"step.{sid}"] = step({"const": sid}, depends_on)
        # One alternative per plan length: llama.cpp's grammar compiler reads prefixItems
        # as a tuple of exactly that length.
        steps = {
            "anyOf": [
                {"type": "array", "const": []},
                *(
                    {
                        "type": "array",
                        "prefixItems": [{"$ref": f"#/$defs/step.{sid}"} for sid in ids[:length]],
                        "items": False,
                    }
                    for length in range(1, count + 1)
                ),
            ]
        }
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {"steps": steps},
        "required": ["steps"],
        "additionalProperties": False,
    }
    if defs:
        schema["$defs"] = defs
    return schema
