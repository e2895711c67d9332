"""``McpCapabilitySource``: the tools of a run's MCP servers, as capabilities.

For each server in ``available_mcp_servers`` the tools are listed (through the shared
``McpPool``) and each becomes a capability named ``mcp__<server>__<tool>`` — a name every
LLM accepts (``^[a-zA-Z0-9_-]{1,64}$``), unique across servers. Risk is decided here:
high-risk exactly when the capability name or the bare tool name is in the policy's
``high_risk_tools``, or the tool is annotated ``destructiveHint: true``.

Every tool's definition is pinned when first seen; a tool whose definition changed since
is withheld (listed in ``unavailable`` with the reason) until an admin ``accept``s it.
A server that cannot be reached puts ``mcp__<server>__*`` in ``unavailable`` instead of
failing the run.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from agentrt.context import McpServerDefinition, RuntimeSessionContext
from agentrt.mcp.errors import McpError, McpToolError
from agentrt.mcp.pins import InMemoryPinStore, JsonFilePinStore, ToolPinStore, definition_digest
from agentrt.mcp.pool import McpPool
from agentrt.runtime.capabilities import Capability, ExternalCapabilities, Invoke
from agentrt.skills._base import StepContext

if TYPE_CHECKING:
    from mcp_types import CallToolResult, Tool

__all__ = [
    "CAPABILITY_PREFIX",
    "InMemoryPinStore",
    "JsonFilePinStore",
    "McpCapabilitySource",
    "PendingToolChange",
    "ToolPinStore",
    "capability_name",
    "tool_digest",
    "tool_output",
]

CAPABILITY_PREFIX = "mcp__"
MAX_NAME_LENGTH = 64
NAME_PATTERN = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]")
_HASH_CHARS = 8


def _short(text: str, length: int = _HASH_CHARS) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def sanitize(part: str) -> str:
    return _UNSAFE.sub("_", part) or "_"


def capability_name(server_part: str, tool_name: str, *, server_id: str) -> str:
    """``mcp__<server>__<tool>``, made valid for every LLM's tool-name rule.

    A name that had to change (characters replaced, or over 64 characters) gets a short
    hash of the server id and the exact tool name, so two tools never share one.
    """
    raw = f"{CAPABILITY_PREFIX}{server_part}__{tool_name}"
    clean = f"{CAPABILITY_PREFIX}{sanitize(server_part)}__{sanitize(tool_name)}"
    if clean == raw and len(clean) <= MAX_NAME_LENGTH:
        return clean
    suffix = _short(f"{server_id}\0{tool_name}")
    return f"{clean[: MAX_NAME_LENGTH - len(suffix) - 1]}_{suffix}"


def server_parts(servers: Iterable[McpServerDefinition]) -> dict[str, str]:
    """Server id → the ``<server>`` part of its capability names (its name; disambiguated
    with a hash of its id when two servers of the context would share one)."""
    servers = list(servers)
    counts = Counter(sanitize(server.name) for server in servers)
    parts: dict[str, str] = {}
    for server in servers:
        part = sanitize(server.name)
        parts[server.id] = part if counts[part] == 1 else f"{part}_{_short(server.id, 6)}"
    return parts


def _annotations(tool: Tool) -> dict[str, Any] | None:
    if tool.annotations is None:
        return None
    return tool.annotations.model_dump(mode="json", by_alias=True, exclude_none=True)


def tool_definition(tool: Tool) -> dict[str, Any]:
    """The tool as its server lists it, as JSON."""
    return tool.model_dump(mode="json", by_alias=True, exclude_none=True)


def tool_digest(tool: Tool) -> str:
    """The pinned identity of a tool: sha256 of its name, description, inputSchema and annotations."""
    return definition_digest(tool.name, tool.description, tool.input_schema, _annotations(tool))


def _decoded_size(base64_data: str) -> int:
    data = base64_data.strip()
    return len(data) * 3 // 4 - data[-2:].count("=")


def _summarise(block: Any) -> str:
    kind = getattr(block, "type", None)
    if kind == "text":
        return str(block.text)
    if kind in ("image", "audio"):
        return f"[{kind} {block.mime_type}, {_decoded_size(block.data)} bytes]"
    if kind == "resource_link":
        return f"[resource link {block.name}: {block.uri}]"
    if kind == "resource":
        resource = block.resource
        text = getattr(resource, "text", None)
        if text is not None:
            return str(text)
        mime = getattr(resource, "mime_type", None) or "application/octet-stream"
        return f"[resource {resource.uri} ({mime}), {_decoded_size(getattr(resource, 'blob', ''))} bytes]"
    return f"[{kind or 'unknown'} content]"


def tool_output(result: CallToolResult) -> Any:
    """A tool result as a step output: its ``structuredContent`` when it has one, else its
    text content joined (other content types summarised in brackets)."""
    if result.structured_content is not None:
        return result.structured_content
    return "\n".join(_summarise(block) for block in result.content)


def _output_description(tool: Tool) -> str:
    if tool.output_schema:
        schema = json.dumps(tool.output_schema, separators=(",", ":"))
        if len(schema) > 500:
            schema = schema[:497] + "..."
        return f"JSON matching {schema}"
    return "the tool's text output"


@dataclass(frozen=True)
class PendingToolChange:
    """A tool whose definition changed since it was pinned: withheld until accepted."""

    org_id: str
    server_id: str
    server_name: str
    tool_name: str
    capability: str
    pinned_sha256: str
    current_sha256: str
    definition: dict[str, Any] = field(default_factory=dict)
    """The tool's current definition, as the server lists it."""
    detected_at: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class McpCapabilitySource:
    """A ``CapabilitySource``: ``await source(runtime_context)`` → ``ExternalCapabilities``."""

    def __init__(self, pool: McpPool, pins: ToolPinStore | None = None) -> None:
        self.pool = pool
        self.pins: ToolPinStore = pins if pins is not None else InMemoryPinStore()
        self.pending_changes: dict[tuple[str, str, str], PendingToolChange] = {}
        """(org_id, server_id, tool_name) → the change waiting for an admin."""

    def pending(self, org_id: str | None = None) -> list[PendingToolChange]:
        return [c for c in self.pending_changes.values() if org_id is None or c.org_id == org_id]

    async def accept(self, org_id: str, server_id: str, tool_name: str) -> bool:
        """Pin the tool's current definition (the one seen last); False if nothing was pending."""
        change = self.pending_changes.pop((org_id, server_id, tool_name), None)
        if change is None:
            return False
        await self.pins.put(org_id, server_id, tool_name, change.current_sha256, change.definition)
        return True

    async def __call__(self, runtime_context: RuntimeSessionContext) -> ExternalCapabilities:
        servers = list({server.id: server for server in runtime_context.available_mcp_servers}.values())
        if not servers:
            return ExternalCapabilities()
        parts = server_parts(servers)
        found = await asyncio.gather(*(self._server(runtime_context, server, parts[server.id]) for server in servers))
        capabilities: list[Capability] = []
        unavailable: dict[str, str] = {}
        for server_capabilities, server_unavailable in found:
            capabilities.extend(server_capabilities)
            unavailable.update(server_unavailable)
        return ExternalCapabilities(capabilities=capabilities, unavailable=unavailable)

    async def _server(
        self, runtime_context: RuntimeSessionContext, server: McpServerDefinition, part: str
    ) -> tuple[list[Capability], dict[str, str]]:
        org_id = runtime_context.org_id
        try:
            tools = await self.pool.list_tools(org_id, server)
        except McpError as exc:
            return [], {f"{CAPABILITY_PREFIX}{part}__*": exc.message}
        risky = set(runtime_context.runtime_policy.high_risk_tools)
        capabilities: list[Capability] = []
        unavailable: dict[str, str] = {}
        for tool in tools:
            name = capability_name(part, tool.name, server_id=server.id)
            withheld = await self._check_pin(org_id, server, tool, name)
            if withheld is not None:
                unavailable[name] = withheld
                continue
            annotations = tool.annotations
            description = tool.description or tool.title or f"The {tool.name} tool of the MCP server {server.name}"
            destructive = bool(annotations is not None and annotations.destructive_hint is True)
            capabilities.append(
                Capability(
                    name=name,
                    kind="mcp",
                    description=description,
                    input_schema=dict(tool.input_schema),
                    output_description=_output_description(tool),
                    high_risk=name in risky or tool.name in risky or destructive,
                    invoke=self._invoker(org_id, server, tool.name),
                )
            )
        return capabilities, unavailable

    async def _check_pin(self, org_id: str, server: McpServerDefinition, tool: Tool, name: str) -> str | None:
        """None when the tool may be used; otherwise why it is withheld."""
        digest = tool_digest(tool)
        key = (org_id, server.id, tool.name)
        try:
            pinned = await self.pins.get(*key)
            if pinned is None:
                await self.pins.put(*key, digest, tool_definition(tool))
                return None
        except OSError as exc:  # an unreadable or unwritable pin file withholds, never crashes the run
            return f"its pinned definition cannot be checked: {exc}"
        if pinned == digest:
            self.pending_changes.pop(key, None)
            return None
        self.pending_changes[key] = PendingToolChange(
            org_id=org_id,
            server_id=server.id,
            server_name=server.name,
            tool_name=tool.name,
            capability=name,
            pinned_sha256=pinned,
            current_sha256=digest,
            definition=tool_definition(tool),
        )
        return f"definition changed since it was pinned (was {pinned[:12]}, now {digest[:12]}); an admin must accept it"

    def _invoker(self, org_id: str, server: McpServerDefinition, tool_name: str) -> Invoke:
        pool = self.pool

        async def invoke(args: dict[str, Any], ctx: StepContext) -> Any:
            result = await pool.call_tool(org_id, server, tool_name, args)
            if result.is_error:
                details = tool_output(result) if result.content else "no details given"
                raise McpToolError(
                    server.name,
                    f"tool {tool_name!r} reported an error: {details}",
                    server_id=server.id,
                )
            return tool_output(result)

        return invoke
