"""Build a ``RuntimeSessionContext`` from the store: what the seed's
``buildRuntimeSessionContext`` does, with tools and MCP servers filled in."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentrt.context import (
    AgentConfig,
    McpServerDefinition,
    RuntimePolicy,
    RuntimeSessionContext,
    SkillDefinition,
    ToolDefinition,
)
from agentrt.service.secrets import redact_all
from agentrt.store.models import Agent, McpServer, Skill, Tool


async def bound_skills(db: AsyncSession, agent: Agent) -> list[Skill]:
    """Active skills the agent binds: by id (that version) or by name (the newest active version)."""
    refs = [str(ref) for ref in agent.skills or []]
    if not refs:
        return []
    rows = (
        await db.scalars(
            select(Skill)
            .where(Skill.org_id == agent.org_id, Skill.is_active.is_(True))
            .where(Skill.id.in_(refs) | Skill.name.in_(refs))
        )
    ).all()
    by_id = {row.id: row for row in rows}
    chosen: dict[str, Skill] = {by_id[ref].name: by_id[ref] for ref in refs if ref in by_id}
    for ref in refs:
        versions = [row for row in rows if row.name == ref]
        if ref not in by_id and ref not in chosen and versions:
            chosen[ref] = max(versions, key=lambda row: row.created_at)
    return list(chosen.values())


def skill_definition(skill: Skill) -> SkillDefinition:
    return SkillDefinition(
        id=skill.id,
        name=skill.name,
        description=skill.description,
        version=skill.version,
        source=skill.source or "local",
        schema=skill.input_schema or {},
        metadata={
            "isActive": skill.is_active,
            "createdAt": skill.created_at.isoformat(),
            **({"instructions": skill.config["instructions"]} if (skill.config or {}).get("instructions") else {}),
        },
    )


async def build_runtime_context(
    db: AsyncSession, agent: Agent, *, user_id: str, session_id: str, metadata: dict[str, Any] | None = None
) -> RuntimeSessionContext:
    skills = await bound_skills(db, agent)
    tools = (
        (await db.scalars(select(Tool).where(Tool.org_id == agent.org_id, Tool.id.in_(agent.tools or [])))).all()
        if agent.tools
        else []
    )
    servers = (
        (
            await db.scalars(
                select(McpServer).where(McpServer.org_id == agent.org_id, McpServer.id.in_(agent.mcp_servers or []))
            )
        ).all()
        if agent.mcp_servers
        else []
    )
    return RuntimeSessionContext(
        org_id=agent.org_id,
        user_id=user_id,
        agent_id=agent.id,
        session_id=session_id,
        agent_config=AgentConfig(
            id=agent.id,
            name=agent.name,
            description=agent.description,
            system_prompt=agent.system_prompt,
            model=agent.model,
            temperature=agent.temperature,
            max_tokens=agent.max_tokens,
            metadata=dict(agent.metadata_ or {}),
        ),
        available_skills=[skill_definition(s) for s in skills],
        available_tools=[
            ToolDefinition(
                id=t.id,
                name=t.name,
                description=t.description,
                schema=t.input_schema or {},
                destructive=t.destructive,
                metadata=dict(t.metadata_ or {}),
            )
            for t in tools
        ],
        available_mcp_servers=[
            McpServerDefinition(
                id=m.id,
                name=m.name,
                transport=m.transport,  # type: ignore[arg-type]
                command=m.command,
                args=list(m.args or []),
                env=redact_all(m.env or {}),
                url=m.url,
                headers=redact_all(m.headers or {}),
                metadata=dict(m.metadata_ or {}),
            )
            for m in servers
        ],
        runtime_policy=RuntimePolicy.model_validate(agent.runtime_policy or {}),
        metadata=metadata or {},
    )
