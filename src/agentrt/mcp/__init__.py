"""MCP servers as capabilities: a connection pool, tool listing, pinning of tool definitions."""

from agentrt.mcp.capabilities import McpCapabilitySource, PendingToolChange, capability_name, tool_output
from agentrt.mcp.errors import McpError, McpToolError
from agentrt.mcp.pins import InMemoryPinStore, JsonFilePinStore, ToolPinStore
from agentrt.mcp.pool import McpPool

__all__ = [
    "InMemoryPinStore",
    "JsonFilePinStore",
    "McpCapabilitySource",
    "McpError",
    "McpPool",
    "McpToolError",
    "PendingToolChange",
    "ToolPinStore",
    "capability_name",
    "tool_output",
]
