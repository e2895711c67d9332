"""Long-term memories: what agents remembered about the caller (saved by ``remember``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select, text

from agentrt.api.deps import CurrentCaller, DbSession
from agentrt.service.errors import NotFoundError
from agentrt.store.models import Memory

router = APIRouter(prefix="/memories", tags=["memories"])


class MemoryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    agent_id: str
    content: str
    created_at: datetime


@router.get("", response_model=list[MemoryPublic], summary="Your memories (optionally of one agent)")
async def list_memories(db: DbSession, caller: CurrentCaller, agent_id: Annotated[str | None, Query()] = None) -> Any:
    query = select(Memory).where(Memory.org_id == caller.org_id, Memory.user_id == caller.user.id)
    if agent_id:
        query = query.where(Memory.agent_id == agent_id)
    return (await db.scalars(query.order_by(Memory.created_at))).all()


@router.delete("/{memory_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Forget one of your memories")
async def forget(memory_id: str, db: DbSession, caller: CurrentCaller) -> None:
    memory = await db.scalar(
        select(Memory).where(Memory.id == memory_id, Memory.org_id == caller.org_id, Memory.user_id == caller.user.id)
    )
    if memory is None:
        raise NotFoundError(f"no memory {memory_id}")
    await db.delete(memory)
    if db.get_bind().dialect.name == "sqlite":
        await db.execute(text("DELETE FROM memories_fts WHERE memory_id = :id"), {"id": memory_id})
    await db.commit()
