"""``/v1/tools``: the organisation's tools (names unique in it). Members read them, admins write them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status
from sqlalchemy import select

from agentrt.api.deps import (
    AdminCaller,
    CurrentCaller,
    DbSession,
    apply_update,
    commit_or_conflict,
    ensure_unique_name,
    get_scoped,
)
from agentrt.api.schemas_admin import PathId, ToolCreate, ToolPublic, ToolUpdate, check_json_schema
from agentrt.service.errors import ConflictError
from agentrt.store.models import Tool

router = APIRouter(prefix="/tools", tags=["tools"])
RENAMES = {"metadata": "metadata_"}


def _exists(name: str) -> ConflictError:
    return ConflictError(
        f"a tool named {name} already exists in this organisation", code="TOOL_EXISTS", details={"field": "name"}
    )


@router.get("", response_model=list[ToolPublic])
async def list_tools(db: DbSession, caller: CurrentCaller) -> Any:
    return (await db.scalars(select(Tool).where(Tool.org_id == caller.org_id).order_by(Tool.name))).all()


@router.post("", response_model=ToolPublic, status_code=status.HTTP_201_CREATED)
async def create_tool(body: ToolCreate, db: DbSession, caller: AdminCaller) -> Any:
    check_json_schema(body.input_schema)
    await ensure_unique_name(db, Tool, caller.org_id, body.name, _exists(body.name))
    values = body.model_dump(by_alias=False)
    values["metadata_"] = values.pop("metadata")
    tool = Tool(org_id=caller.org_id, **values)
    db.add(tool)
    await commit_or_conflict(db, _exists(body.name))
    return tool


@router.get("/{tool_id}", response_model=ToolPublic)
async def get_tool(tool_id: PathId, db: DbSession, caller: CurrentCaller) -> Any:
    return await get_scoped(db, Tool, tool_id, caller.org_id, what="tool")


@router.patch("/{tool_id}", response_model=ToolPublic)
async def update_tool(tool_id: PathId, body: ToolUpdate, db: DbSession, caller: AdminCaller) -> Any:
    tool = await get_scoped(db, Tool, tool_id, caller.org_id, what="tool")
    changes = body.model_dump(exclude_unset=True, by_alias=False)
    if body.input_schema is not None:
        check_json_schema(body.input_schema)
    if body.name is not None:
        await ensure_unique_name(db, Tool, caller.org_id, body.name, _exists(body.name), exclude_id=tool.id)
    apply_update(tool, changes, renames=RENAMES)
    await commit_or_conflict(db, _exists(tool.name))
    await db.refresh(tool)
    return tool


@router.delete("/{tool_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_tool(tool_id: PathId, db: DbSession, caller: AdminCaller) -> None:
    tool = await get_scoped(db, Tool, tool_id, caller.org_id, what="tool")
    await db.delete(tool)
    await db.commit()
