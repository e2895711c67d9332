"""``/v1/skills``: the organisation's skills. Every version of a name is a row of its own (``name`` +
``version`` is unique); a version's name, version and schema never change: publish a new version
instead, and deactivate (``is_active: false``) or delete the old one."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from agentrt.api.deps import AdminCaller, CurrentCaller, DbSession, apply_update, get_scoped
from agentrt.api.schemas_admin import PathId, SkillCreate, SkillPublic, SkillUpdate, check_json_schema
from agentrt.service.errors import ConflictError
from agentrt.store.models import Skill

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


@router.post("", response_model=SkillPublic, status_code=status.HTTP_201_CREATED)
async def create_skill(body: SkillCreate, db: DbSession, caller: AdminCaller) -> Any:
    check_json_schema(body.input_schema)
    taken = await db.scalar(
        select(Skill.id).where(Skill.org_id == caller.org_id, Skill.name == body.name, Skill.version == body.version)
    )
    if taken is not None:
        raise _exists(body.name, body.version)
    skill = Skill(org_id=caller.org_id, **body.model_dump(by_alias=False))
    db.add(skill)
    try:
        await db.commit()
    except IntegrityError:  # a concurrent create of the same version
        await db.rollback()
        raise _exists(body.name, body.version) from None
    return skill


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
