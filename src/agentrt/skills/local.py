"""Skills loaded from a folder: one sub-folder per skill, with a ``skill.json`` manifest.

```json
{"name": "word_count", "version": "1.0.0", "description": "Counts words",
 "input_schema": {"type": "object", "properties": {"text": {"type": "string"}}},
 "entry_point": "main.py:run"}
```
``entry_point`` is ``file.py:function`` relative to the skill's folder; the function
takes ``(args)`` or ``(args, ctx)`` and may be sync or async.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agentrt.errors import SkillError
from agentrt.skills._base import FunctionSkill

MANIFEST_NAME = "skill.json"
_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9_-]{0,63}$")


class SkillManifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    version: str
    description: str
    input_schema: dict[str, Any] = Field(default_factory=lambda: {"type": "object"})
    entry_point: str
    output_description: str = "the skill's result"
    destructive: bool = False

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("must start with a letter and hold only letters, digits, _ or -")
        return value

    @field_validator("input_schema")
    @classmethod
    def _valid_schema(cls, value: dict[str, Any]) -> dict[str, Any]:
        try:
            jsonschema.Draft202012Validator.check_schema(value)
        except jsonschema.SchemaError as exc:
            raise ValueError(f"not a valid JSON Schema: {exc.message}") from None
        return value

    @field_validator("entry_point")
    @classmethod
    def _valid_entry(cls, value: str) -> str:
        file, sep, function = value.partition(":")
        if not sep or not file.endswith(".py") or not function.isidentifier():
            raise ValueError("must be 'file.py:function'")
        return value


def load_skill_folder(folder: Path) -> FunctionSkill:
    """Load one skill from its folder; a bad manifest raises ``SkillError`` with the reason."""
    manifest_path = folder / MANIFEST_NAME
    try:
        manifest = SkillManifest.model_validate(json.loads(manifest_path.read_text()))
    except FileNotFoundError:
        raise SkillError(f"{folder}: no {MANIFEST_NAME}") from None
    except json.JSONDecodeError as exc:
        raise SkillError(f"{manifest_path}: not JSON: {exc}") from None
    except ValidationError as exc:
        raise SkillError(f"{manifest_path}: invalid manifest: {exc}") from None
    file, _, function = manifest.entry_point.partition(":")
    source = (folder / file).resolve()
    if folder.resolve() not in source.parents or not source.is_file():
        raise SkillError(f"{manifest_path}: entry point {file!r} is not a file inside the skill")
    spec = importlib.util.spec_from_file_location(
        f"agentrt_skill_{manifest.name}_{manifest.version}".replace(".", "_").replace("-", "_"), source
    )
    if spec is None or spec.loader is None:
        raise SkillError(f"{source}: cannot be imported")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise SkillError(f"{source}: import failed: {exc!r}") from None
    fn = getattr(module, function, None)
    if not callable(fn):
        raise SkillError(f"{source}: has no function {function!r}")
    return FunctionSkill(
        name=manifest.name,
        description=manifest.description,
        fn=fn,
        input_schema=manifest.input_schema,
        output_description=manifest.output_description,
        destructive=manifest.destructive,
        version=manifest.version,
    )


def load_skills_dir(root: Path) -> list[FunctionSkill]:
    """Every skill under ``root`` (each sub-folder holding a manifest)."""
    return [load_skill_folder(path.parent) for path in sorted(root.glob(f"*/{MANIFEST_NAME}"))]
