"""MCP for the platform: servers from the store (secrets decrypted only in memory), pins in
the database, and what the API shows of a server's tools."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select

from agentrt.context import McpServerDefinition, RuntimeSessionContext
from agentrt.mcp import McpCapabilitySource, McpError, McpPool
from agentrt.mcp.capabilities import capability_name, server_parts, tool_definition, tool_digest
from agentrt.runtime.capabilities import ExternalCapabilities
from agentrt.service.errors import NotFoundError
from agentrt.service.secrets import SecretBox
from agentrt.store.db import Database
from agentrt.store.models import McpServer, McpToolPin, utcnow


class DbPinStore:
    """Pinned tool definitions in the ``mcp_tool_pins`` table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, org_id: str, server_id: str, tool_name: str) -> str | None:
        async with self._db.session() as session:
            return await session.scalar(
                select(McpToolPin.sha256).where(
                    McpToolPin.org_id == org_id, McpToolPin.server_id == server_id, McpToolPin.tool_name == tool_name
                )
            )

    async def put(
        self, org_id: str, server_id: str, tool_name: str, digest: str, definition: dict[str, Any] | None = None
    ) -> None:
        async with self._db.session() as session, session.begin():
            await session.merge(
                McpToolPin(
                    org_id=org_id,
                    server_id=server_id,
                    tool_name=tool_name,
                    sha256=digest,
                    definition=definition or {},
                    pinned_at=utcnow(),
                )
            )

    async def pinned(self, org_id: str, server_id: str) -> dict[str, McpToolPin]:
        async with self._db.session() as session:
            rows = await session.scalars(
                select(McpToolPin).where(McpToolPin.org_id == org_id, McpToolPin.server_id == server_id)
            )
            return {row.tool_name: row for row in rows}


ToolStatus = Literal["pinned", "new", "changed"]


@dataclass
class ServerTool:
    name: str
    capability: str
    description: str | None
    input_schema: dict[str, Any]
    destructive: bool
    status: ToolStatus
    """``changed``: withheld from plans until an admin accepts the new definition."""
    current_sha256: str
    pinned_sha256: str | None
    pinned_definition: dict[str, Any] | None


@dataclass
class ServerTools:
    server_id: str
    reachable: bool
    error: str | None
    tools: list[ServerTool]


class McpService:
    def __init__(self, db: Database, secrets: SecretBox, pool: McpPool | None = None) -> None:
        self.db = db
        self.secrets = secrets
        self.pool = pool or McpPool()
        self.pins = DbPinStore(db)
        self.source = McpCapabilitySource(self.pool, self.pins)

    def definition(self, row: McpServer) -> McpServerDefinition:
        """The server as the pool connects to it: secrets decrypted, in memory only."""
        return McpServerDefinition(
            id=row.id,
            name=row.name,
            transport=row.transport,  # type: ignore[arg-type]
            command=row.command,
            args=list(row.args or []),
            env=self.secrets.open_all(row.env or {}),
            url=row.url,
            headers=self.secrets.open_all(row.headers or {}),
            metadata=dict(row.metadata_ or {}),
        )

    async def definitions(self, org_id: str, ids: Iterable[str]) -> list[McpServerDefinition]:
        async with self.db.session() as session:
            rows = (
                await session.scalars(select(McpServer).where(McpServer.org_id == org_id, McpServer.id.in_(list(ids))))
            ).all()
        return [self.definition(row) for row in rows]

    async def capabilities(self, runtime_context: RuntimeSessionContext) -> ExternalCapabilities:
        """A ``CapabilitySource``: the run's context names the servers (with redacted secrets)."""
        ids = [server.id for server in runtime_context.available_mcp_servers]
        if not ids:
            return ExternalCapabilities()
        servers = await self.definitions(runtime_context.org_id, ids)
        return await self.source(runtime_context.model_copy(update={"available_mcp_servers": servers}))

    async def tools(self, org_id: str, row: McpServer) -> ServerTools:
        server = self.definition(row)
        try:
            listed = await self.pool.list_tools(org_id, server)
        except McpError as exc:
            return ServerTools(row.id, False, exc.message, [])
        part = server_parts([server])[server.id]
        pins = await self.pins.pinned(org_id, row.id)
        tools = []
        for tool in listed:
            digest = tool_digest(tool)
            pin = pins.get(tool.name)
            if pin is None:
                await self.pins.put(org_id, row.id, tool.name, digest, tool_definition(tool))
            status: ToolStatus = "new" if pin is None else "pinned" if pin.sha256 == digest else "changed"
            tools.append(
                ServerTool(
                    name=tool.name,
                    capability=capability_name(part, tool.name, server_id=server.id),
                    description=tool.description,
                    input_schema=dict(tool.input_schema),
                    destructive=bool(tool.annotations is not None and tool.annotations.destructive_hint is True),
                    status=status,
                    current_sha256=digest,
                    pinned_sha256=pin.sha256 if pin else digest,
                    pinned_definition=pin.definition if pin and status == "changed" else None,
                )
            )
        return ServerTools(row.id, True, None, tools)

    async def accept(self, org_id: str, row: McpServer, tool_name: str) -> ServerTool:
        """Pin the tool's definition as the server lists it now."""
        server = self.definition(row)
        listed = {tool.name: tool for tool in await self.pool.list_tools(org_id, server)}
        tool = listed.get(tool_name)
        if tool is None:
            raise NotFoundError(f"the MCP server {row.name} has no tool {tool_name!r}")
        await self.pins.put(org_id, row.id, tool_name, tool_digest(tool), tool_definition(tool))
        self.source.pending_changes.pop((org_id, row.id, tool_name), None)
        found = await self.tools(org_id, row)
        return next(t for t in found.tools if t.name == tool_name)

    async def close(self) -> None:
        await self.pool.close()
