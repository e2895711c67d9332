from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentrt.api.deps import AdminCaller, CurrentCaller, DbSession, apply_update, get_scoped
from agentrt.api.schemas import AgentCreate, AgentPublic, AgentUpdate
from agentrt.service.errors import UnprocessableError
from agentrt.store.models import Agent, McpServer, Skill, Tool

router = APIRouter(prefix="/agents", tags=["agents"])


async def _check_bindings(db: AsyncSession, org_id: str, body: AgentCreate | AgentUpdate) -> None:
    if body.skills:
        rows = (await db.execute(select(Skill.id, Skill.name).where(Skill.org_id == org_id))).all()
        known = {r.id for r in rows} | {r.name for r in rows}
        missing = [ref for ref in body.skills if ref not in known]
        if missing:
            raise UnprocessableError(
                f"skills: no skill {', '.join(missing)} in this organisation",
                details={"field": "skills", "missing": missing},
            )
    for field, model in (("tools", Tool), ("mcp_servers", McpServer)):
        ids: list[str] | None = getattr(body, field)
        if ids:
            found = set(
                (
                    await db.scalars(
                        select(model.id).where(
                            model.org_id == org_id,
                            model.id.in_(ids),
                        )
                    )
                ).all()
            )
            missing = [i for i in ids if i not in found]
            if missing:
                raise UnprocessableError(
                    f"{field}: no {field[:-1].replace('_', ' ')} {', '.join(missing)}",
                    details={"field": field, "missing": missing},
                )


def _columns(values: dict[str, Any]) -> dict[str, Any]:
    if "runtime_policy" in values and values["runtime_policy"] is not None:
        values["runtime_policy"] = dict(values["runtime_policy"])
    if "metadata" in values:
        values["metadata_"] = values.pop("metadata")
    return values


@router.get("", response_model=list[AgentPublic])
async def list_agents(db: DbSession, caller: CurrentCaller) -> Any:
    return (await db.scalars(select(Agent).where(Agent.org_id == caller.org_id).order_by(Agent.created_at))).all()


@router.post("", response_model=AgentPublic, status_code=status.HTTP_201_CREATED)
async def create_agent(body: AgentCreate, db: DbSession, caller: AdminCaller) -> Any:
    await _check_bindings(db, caller.org_id, body)
    values = _columns(body.model_dump())
    values["runtime_policy"] = body.runtime_policy.model_dump()
    agent = Agent(org_id=caller.org_id, **values)
    db.add(agent)
    await db.commit()
    return agent


@router.get("/{agent_id}", response_model=AgentPublic)
async def get_agent(agent_id: str, db: DbSession, caller: CurrentCaller) -> Any:
    return await get_scoped(db, Agent, agent_id, caller.org_id, what="agent")


@router.patch("/{agent_id}", response_model=AgentPublic)
async def update_agent(agent_id: str, body: AgentUpdate, db: DbSession, caller: AdminCaller) -> Any:
    agent = await get_scoped(db, Agent, agent_id, caller.org_id, what="agent")
    await _check_bindings(db, caller.org_id, body)
    changes = body.model_dump(exclude_unset=True)
    if body.runtime_policy is not None:
        changes["runtime_policy"] = body.runtime_policy.model_dump()
    apply_update(agent, _columns(changes))
    await db.commit()
    await db.refresh(agent)
    return agent


@router.delete("/{agent_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_agent(agent_id: str, db: DbSession, caller: AdminCaller) -> None:
    agent = await get_scoped(db, Agent, agent_id, caller.org_id, what="agent")
    await db.delete(agent)
    await db.commit()
