"""``/v1/skills``: the organisation's skills. Every version of a name is a row of its own (``name`` +
``version`` is unique); a version's name, version and schema never change: publish a new version
instead, and deactivate (``is_active: false``) or delete the old one."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from starlette.datastructures import UploadFile

from agentrt.api.deps import AdminCaller, CurrentCaller, DbSession, State, apply_update, get_scoped
from agentrt.api.schemas_admin import PathId, SkillCreate, SkillPublic, SkillUpdate, check_json_schema
from agentrt.service.errors import ConflictError, UnprocessableError
from agentrt.skills.packages import MAX_PACKAGE_BYTES, PackageError, unpack
from agentrt.store.models import Skill, new_id

router = APIRouter(prefix="/skills", tags=["skills"])


def _exists(name: str, version: str) -> ConflictError:
    return ConflictError(
        f"skill {name} version {version} already exists in this organisation",
        code="SKILL_VERSION_EXISTS",
        details={"name": name, "version": version},
    )


@router.get("", response_model=list[SkillPublic])
async def list_skills(
    db: DbSession,
    caller: CurrentCaller,
    name: Annotated[str | None, Query(max_length=64, pattern=r"^[^\x00]*$", description="Only this name")] = None,
    active: Annotated[bool | None, Query(description="Only the active (true) or inactive (false) ones")] = None,
) -> Any:
    query = select(Skill).where(Skill.org_id == caller.org_id)
    if name is not None:
        query = query.where(Skill.name == name)
    if active is not None:
        query = query.where(Skill.is_active.is_(active))
    return (await db.scalars(query.order_by(Skill.name, Skill.created_at, Skill.version))).all()


UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": SkillCreate.model_json_schema(by_alias=True)},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "package": {
                            "type": "string",
                            "format": "binary",
                            "description": "a .zip with skill.json (code) or a SKILL.md",
                        }
                    },
                    "required": ["package"],
                }
            },
        },
    }
}


async def _insert(db: DbSession, skill: Skill) -> Skill:
    taken = await db.scalar(
        select(Skill.id).where(Skill.org_id == skill.org_id, Skill.name == skill.name, Skill.version == skill.version)
    )
    if taken is not None:
        raise _exists(skill.name, skill.version)
    db.add(skill)
    try:
        await db.commit()
    except IntegrityError:  # a concurrent create of the same version
        await db.rollback()
        raise _exists(skill.name, skill.version) from None
    return skill


@router.post(
    "",
    response_model=SkillPublic,
    status_code=status.HTTP_201_CREATED,
    openapi_extra=UPLOAD_BODY,
    summary="Create a skill: JSON (a definition) or multipart with a package (.zip or SKILL.md)",
)
async def create_skill(request: Request, db: DbSession, caller: AdminCaller, app: State) -> Any:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        return await _upload(request, db, caller.org_id, app.settings.data_dir)
    try:
        raw = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise RequestValidationError(
            [{"type": "json_invalid", "loc": ("body",), "msg": f"JSON decode error: {exc}", "input": {}}]
        ) from None
    try:
        body = SkillCreate.model_validate(raw)
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None
    check_json_schema(body.input_schema)
    return await _insert(db, Skill(org_id=caller.org_id, **body.model_dump(by_alias=False)))


async def _upload(request: Request, db: DbSession, org_id: str, data_dir: Path) -> Skill:
    form = await request.form(max_files=1, max_fields=4, max_part_size=MAX_PACKAGE_BYTES)
    upload = form.get("package")
    if not isinstance(upload, UploadFile):
        raise UnprocessableError(
            "package: send the skill package as a file field named 'package'", details={"field": "package"}
        )
    data = await upload.read(MAX_PACKAGE_BYTES + 1)
    skill_id = new_id("skill")
    folder = data_dir / "skills" / org_id / skill_id
    try:
        package = await asyncio.to_thread(unpack, data, upload.filename or "package.zip", folder)
    except PackageError as exc:
        raise UnprocessableError(f"package: {exc.message}", code=exc.code, details={"field": "package"}) from None
    skill = Skill(
        id=skill_id,
        org_id=org_id,
        name=package.name,
        description=package.description,
        version=package.version,
        source="package",
        input_schema=package.input_schema,
        config={**package.config(), "path": str(folder.resolve())},
    )
    try:
        return await _insert(db, skill)
    except ConflictError:
        await asyncio.to_thread(shutil.rmtree, folder, True)
        raise


@router.get("/{skill_id}", response_model=SkillPublic)
async def get_skill(skill_id: PathId, db: DbSession, caller: CurrentCaller) -> Any:
    return await get_scoped(db, Skill, skill_id, caller.org_id, what="skill")


@router.patch("/{skill_id}", response_model=SkillPublic)
async def update_skill(skill_id: PathId, body: SkillUpdate, db: DbSession, caller: AdminCaller) -> Any:
    skill = await get_scoped(db, Skill, skill_id, caller.org_id, what="skill")
    apply_update(skill, body.model_dump(exclude_unset=True, by_alias=False))
    await db.commit()
    await db.refresh(skill)
    return skill


@router.delete("/{skill_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_skill(skill_id: PathId, db: DbSession, caller: AdminCaller) -> None:
    skill = await get_scoped(db, Skill, skill_id, caller.org_id, what="skill")
    await db.delete(skill)
    await db.commit()
