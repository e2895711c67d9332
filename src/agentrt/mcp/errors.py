"""What goes wrong with an MCP server, as one agentrt error type."""

from __future__ import annotations

from agentrt.errors import AgentrtError


class McpError(AgentrtError):
    """An MCP server could not be reached, crashed, hung or answered nonsense.

    The message names the server and the reason; ``details`` repeats them for a client.
    """

    code = "MCP_ERROR"

    def __init__(self, server: str, reason: str, *, server_id: str | None = None, code: str | None = None) -> None:
        super().__init__(
            f"MCP server {server!r}: {reason}",
            code=code,
            details={"server": server, "server_id": server_id, "reason": reason},
        )
        self.server = server
        self.server_id = server_id
        self.reason = reason


class McpToolError(McpError):
    """The server ran the tool and the tool reported a failure (``isError``)."""

    code = "MCP_TOOL_ERROR"
