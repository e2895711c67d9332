"""Skill packages: what an organisation uploads.

Two kinds:

- **code**: a folder or zip with ``skill.json`` (see :mod:`agentrt.skills.local`) and
  its code; it runs in the sandbox, not in the server (``agentrt.tools.sandbox``).
- **instructions**: a ``SKILL.md`` with YAML front matter (``name``, ``description``,
  optional ``version``) whose body joins the planner's prompt when the skill is bound.

Uploads are checked before anything is kept: size and file-count limits, no path that
leaves the package (zip-slip), no links, a valid manifest and JSON Schema.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agentrt.errors import SkillError
from agentrt.skills.local import MANIFEST_NAME, SkillManifest

INSTRUCTIONS_NAME = "SKILL.md"
MAX_PACKAGE_BYTES = 10 * 1024 * 1024
MAX_FILES = 200
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n?(.*)\Z", re.S)
_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9_-]{0,63}$")


class PackageError(SkillError):
    """An upload that is not a valid skill package; the message says why."""

    code = "SKILL_PACKAGE_INVALID"


class InstructionsFrontMatter(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str
    description: str = Field(min_length=1, max_length=4000)
    version: str = "0.1.0"

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("must start with a letter and hold only letters, digits, _ or -")
        return value


@dataclass(frozen=True)
class SkillPackage:
    kind: Literal["code", "instructions"]
    name: str
    version: str
    description: str
    input_schema: dict[str, Any] = field(default_factory=dict)
    entry_point: str | None = None
    output_description: str = "the skill's result"
    destructive: bool = False
    instructions: str | None = None

    def config(self) -> dict[str, Any]:
        """What the store keeps beside the files (the ``skills.config`` column)."""
        return {
            "kind": self.kind,
            "entry_point": self.entry_point,
            "output_description": self.output_description,
            "destructive": self.destructive,
            "instructions": self.instructions,
        }


def _errors(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in exc.errors())


def parse_instructions(text: str) -> SkillPackage:
    match = _FRONT_MATTER.match(text.replace("\r\n", "\n"))
    if match is None:
        raise PackageError(f"{INSTRUCTIONS_NAME} must start with front matter between '---' lines")
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise PackageError(f"{INSTRUCTIONS_NAME}: front matter is not YAML: {exc}") from None
    if not isinstance(meta, dict):
        raise PackageError(f"{INSTRUCTIONS_NAME}: front matter must be a mapping")
    try:
        front = InstructionsFrontMatter.model_validate(meta)
    except ValidationError as exc:
        raise PackageError(f"{INSTRUCTIONS_NAME}: {_errors(exc)}") from None
    body = match.group(2).strip()
    if not body:
        raise PackageError(f"{INSTRUCTIONS_NAME}: the instructions (after the front matter) are empty")
    return SkillPackage(
        kind="instructions",
        name=front.name,
        version=str(front.version),
        description=front.description,
        instructions=body,
    )


def read_package(folder: Path) -> SkillPackage:
    """A package already unpacked in ``folder``."""
    manifest_path = folder / MANIFEST_NAME
    if manifest_path.is_file():
        try:
            manifest = SkillManifest.model_validate(json.loads(manifest_path.read_text()))
        except json.JSONDecodeError as exc:
            raise PackageError(f"{MANIFEST_NAME} is not JSON: {exc}") from None
        except ValidationError as exc:
            raise PackageError(f"{MANIFEST_NAME}: {_errors(exc)}") from None
        entry_file = manifest.entry_point.partition(":")[0]
        entry = (folder / entry_file).resolve()
        if folder.resolve() not in entry.parents or not entry.is_file():
            raise PackageError(f"{MANIFEST_NAME}: entry point file {entry_file!r} is not in the package")
        instructions_path = folder / INSTRUCTIONS_NAME
        instructions = (
            parse_instructions(instructions_path.read_text()).instructions if instructions_path.is_file() else None
        )
        return SkillPackage(
            kind="code",
            name=manifest.name,
            version=manifest.version,
            description=manifest.description,
            input_schema=manifest.input_schema,
            entry_point=manifest.entry_point,
            output_description=manifest.output_description,
            destructive=manifest.destructive,
            instructions=instructions,
        )
    instructions_path = folder / INSTRUCTIONS_NAME
    if instructions_path.is_file():
        return parse_instructions(instructions_path.read_text())
    raise PackageError(f"a skill package holds {MANIFEST_NAME} (code) or {INSTRUCTIONS_NAME} (instructions)")


def _member_path(info: zipfile.ZipInfo) -> PurePosixPath | None:
    path = PurePosixPath(info.filename)
    if info.filename.startswith("/") or ".." in path.parts or "\\" in info.filename or "\x00" in info.filename:
        raise PackageError(f"the zip entry {info.filename!r} leaves the package")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise PackageError(f"the zip entry {info.filename!r} is a link; links are not allowed")
    return None if info.is_dir() else path


def unpack(data: bytes, filename: str, dest: Path) -> SkillPackage:
    """Check an upload (a ``.zip`` or a ``SKILL.md``) and unpack it into ``dest``."""
    if len(data) > MAX_PACKAGE_BYTES:
        raise PackageError(f"the upload is larger than {MAX_PACKAGE_BYTES // (1024 * 1024)} MiB")
    if filename.lower().endswith(".md"):
        package = parse_instructions(data.decode("utf-8", errors="strict"))
        dest.mkdir(parents=True, exist_ok=True)
        (dest / INSTRUCTIONS_NAME).write_bytes(data)
        return package
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise PackageError("the upload is neither a zip file nor a SKILL.md") from None
    with archive:
        members = [(info, _member_path(info)) for info in archive.infolist()]
        files = [(info, path) for info, path in members if path is not None]
        if len(files) > MAX_FILES:
            raise PackageError(f"the package has more than {MAX_FILES} files")
        if sum(info.file_size for info, _ in files) > MAX_PACKAGE_BYTES:
            raise PackageError(f"the package unpacks to more than {MAX_PACKAGE_BYTES // (1024 * 1024)} MiB")
        # A package zipped with its folder (skill/skill.json) is unpacked from inside that folder.
        roots = {path.parts[0] for _, path in files if len(path.parts) > 1}
        strip = len(roots) == 1 and not any(len(path.parts) == 1 for _, path in files)
        staging = dest.with_name(dest.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        try:
            for info, path in files:
                relative = PurePosixPath(*path.parts[1:]) if strip else path
                target = staging.joinpath(*relative.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.read(info))
            package = read_package(staging)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    shutil.rmtree(dest, ignore_errors=True)
    staging.rename(dest)
    return package
