"""``/v1/mcp-servers``: the organisation's MCP servers (names unique in it). Members read them, admins
write them.

``env`` and ``headers`` usually hold secrets (tokens, passwords): they are write-only. Answers give
only their keys (``env_keys``, ``header_keys``); a PATCH of either replaces it whole.
TODO: they are stored in clear text for now; encryption at rest comes with its own issue.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, status
from pydantic import BaseModel
from sqlalchemy import select

from agentrt.api.deps import (
    AdminCaller,
    CurrentCaller,
    DbSession,
    State,
    apply_update,
    commit_or_conflict,
    ensure_unique_name,
    get_scoped,
)
from agentrt.api.schemas_admin import McpServerCreate, McpServerPublic, McpServerUpdate, PathId
from agentrt.service.errors import ConflictError, UnprocessableError
from agentrt.store.models import McpServer

router = APIRouter(prefix="/mcp-servers", tags=["mcp-servers"])
RENAMES = {"metadata": "metadata_"}


def _public(server: McpServer) -> McpServerPublic:
    return McpServerPublic(
        id=server.id,
        name=server.name,
        transport=server.transport,
        command=server.command,
        args=list(server.args or []),
        url=server.url,
        env_keys=sorted(server.env or {}),
        header_keys=sorted(server.headers or {}),
        metadata=server.metadata_ or {},
        created_at=server.created_at,
    )


def _check_transport(transport: str, command: str | None, url: str | None) -> None:
    if transport == "stdio" and not command:
        raise UnprocessableError("command: required by the stdio transport", details={"field": "command"})
    if transport == "http" and not url:
        raise UnprocessableError("url: required by the http transport", details={"field": "url"})


def _exists(name: str) -> ConflictError:
    return ConflictError(
        f"an MCP server named {name} already exists in this organisation",
        code="MCP_SERVER_EXISTS",
        details={"field": "name"},
    )


@router.get("", response_model=list[McpServerPublic])
async def list_mcp_servers(db: DbSession, caller: CurrentCaller) -> Any:
    rows = await db.scalars(select(McpServer).where(McpServer.org_id == caller.org_id).order_by(McpServer.name))
    return [_public(row) for row in rows.all()]


@router.post("", response_model=McpServerPublic, status_code=status.HTTP_201_CREATED)
async def create_mcp_server(body: McpServerCreate, db: DbSession, caller: AdminCaller, app: State) -> Any:
    _check_transport(body.transport, body.command, body.url)
    await ensure_unique_name(db, McpServer, caller.org_id, body.name, _exists(body.name))
    values = body.model_dump()
    values["metadata_"] = values.pop("metadata")
    values["env"] = app.secrets.seal_all(values["env"])
    values["headers"] = app.secrets.seal_all(values["headers"])
    server = McpServer(org_id=caller.org_id, **values)
    db.add(server)
    await commit_or_conflict(db, _exists(body.name))
    return _public(server)


@router.get("/{server_id}", response_model=McpServerPublic)
async def get_mcp_server(server_id: PathId, db: DbSession, caller: CurrentCaller) -> Any:
    return _public(await get_scoped(db, McpServer, server_id, caller.org_id, what="MCP server"))


@router.patch("/{server_id}", response_model=McpServerPublic)
async def update_mcp_server(
    server_id: PathId, body: McpServerUpdate, db: DbSession, caller: AdminCaller, app: State
) -> Any:
    server = await get_scoped(db, McpServer, server_id, caller.org_id, what="MCP server")
    changes = body.model_dump(exclude_unset=True)
    for secret_field in ("env", "headers"):
        if changes.get(secret_field) is not None:
            changes[secret_field] = app.secrets.seal_all(changes[secret_field])
    merged = {"transport": server.transport, "command": server.command, "url": server.url} | {
        k: v for k, v in changes.items() if k in ("transport", "command", "url")
    }
    _check_transport(merged["transport"], merged["command"], merged["url"])
    if body.name is not None:
        await ensure_unique_name(db, McpServer, caller.org_id, body.name, _exists(body.name), exclude_id=server.id)
    apply_update(server, changes, renames=RENAMES)
    await commit_or_conflict(db, _exists(server.name))
    await db.refresh(server)
    return _public(server)


@router.delete("/{server_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_mcp_server(server_id: PathId, db: DbSession, caller: AdminCaller) -> None:
    server = await get_scoped(db, McpServer, server_id, caller.org_id, what="MCP server")
    await db.delete(server)
    await db.commit()


class McpToolPublic(BaseModel):
    name: str
    capability: str
    description: str | None
    input_schema: dict[str, Any]
    destructive: bool
    status: Literal["pinned", "new", "changed"]
    current_sha256: str
    pinned_sha256: str | None
    pinned_definition: dict[str, Any] | None = None


class McpServerToolsPublic(BaseModel):
    server_id: str
    reachable: bool
    error: str | None
    tools: list[McpToolPublic]


@router.get(
    "/{server_id}/tools",
    response_model=McpServerToolsPublic,
    summary="What the server offers now (or why it cannot be reached), with each tool's pin status",
)
async def list_server_tools(server_id: PathId, db: DbSession, caller: CurrentCaller, app: State) -> Any:
    server = await get_scoped(db, McpServer, server_id, caller.org_id, what="MCP server")
    found = await app.mcp.tools(caller.org_id, server)
    return McpServerToolsPublic(
        server_id=found.server_id,
        reachable=found.reachable,
        error=found.error,
        tools=[McpToolPublic(**vars(tool)) for tool in found.tools],
    )


@router.post(
    "/{server_id}/tools/{tool_name}/accept",
    response_model=McpToolPublic,
    summary="Accept a tool's changed definition: pin it as the server lists it now",
)
async def accept_tool_change(
    server_id: PathId, tool_name: PathId, db: DbSession, caller: AdminCaller, app: State
) -> Any:
    server = await get_scoped(db, McpServer, server_id, caller.org_id, what="MCP server")
    return McpToolPublic(**vars(await app.mcp.accept(caller.org_id, server, tool_name)))
