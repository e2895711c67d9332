"""Sandboxed high-risk tools: per-session workspaces, the sandbox, and the tools built on them."""

from agentrt.tools.builtin import run_output, sandboxed_tools
from agentrt.tools.sandbox import (
    SANDBOX_ENV,
    Sandbox,
    SandboxLimits,
    SandboxResult,
    SandboxStatus,
    SandboxUnavailableError,
    sandbox_status,
)
from agentrt.tools.workspace import (
    SANDBOX_GID,
    SANDBOX_UID,
    WORKSPACE_DIR_ENV,
    Workspace,
    WorkspaceFile,
    WorkspaceFileNotFoundError,
    WorkspacePathError,
    Workspaces,
)

__all__ = [
    "SANDBOX_ENV",
    "SANDBOX_GID",
    "SANDBOX_UID",
    "WORKSPACE_DIR_ENV",
    "Sandbox",
    "SandboxLimits",
    "SandboxResult",
    "SandboxStatus",
    "SandboxUnavailableError",
    "Workspace",
    "WorkspaceFile",
    "WorkspaceFileNotFoundError",
    "WorkspacePathError",
    "Workspaces",
    "run_output",
    "sandbox_status",
    "sandboxed_tools",
]
