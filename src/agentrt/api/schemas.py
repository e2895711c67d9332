"""Request and response bodies: ``XCreate`` / ``XUpdate`` / ``XPublic`` per resource."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from agentrt.api._bodies import _In, _Out
from agentrt.context import RuntimePolicy


# --- agents -------------------------------------------------------------------------
class AgentCreate(_In):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=4000)
    system_prompt: str = Field(default="", max_length=100_000)
    model: str | None = Field(default=None, max_length=300, description="`provider:model`; absent: the default")
    temperature: float = Field(default=0.7, ge=0, le=2)
    max_tokens: int = Field(default=4096, ge=1, le=1_000_000)
    skills: list[str] = Field(default_factory=list, description="Skill ids (that version) or names (the latest)")
    tools: list[str] = Field(default_factory=list, description="Tool ids")
    mcp_servers: list[str] = Field(default_factory=list, description="MCP server ids")
    runtime_policy: RuntimePolicy = Field(default_factory=RuntimePolicy)
    metadata: dict[str, Any] = Field(default_factory=dict)


class AgentUpdate(_In):
    not_null = (
        "name",
        "system_prompt",
        "temperature",
        "max_tokens",
        "skills",
        "tools",
        "mcp_servers",
        "runtime_policy",
        "metadata",
    )

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=4000)
    system_prompt: str | None = Field(default=None, max_length=100_000)
    model: str | None = Field(default=None, max_length=300)
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1, le=1_000_000)
    skills: list[str] | None = None
    tools: list[str] | None = None
    mcp_servers: list[str] | None = None
    runtime_policy: RuntimePolicy | None = None
    metadata: dict[str, Any] | None = None


class AgentPublic(_Out):
    id: str
    name: str
    description: str | None
    system_prompt: str
    model: str | None
    temperature: float
    max_tokens: int
    skills: list[str]
    tools: list[str]
    mcp_servers: list[str]
    runtime_policy: RuntimePolicy
    metadata: dict[str, Any] = Field(validation_alias="metadata_")
    created_at: datetime
    updated_at: datetime


# --- sessions and messages ---------------------------------------------------------------
class SessionCreate(_In):
    agent_id: str = Field(min_length=1)
    title: str | None = Field(default=None, max_length=300)


class SessionUpdate(_In):
    title: str | None = Field(default=None, max_length=300)


class SessionPublic(_Out):
    id: str
    agent_id: str
    user_id: str
    title: str | None
    created_at: datetime
    updated_at: datetime
    active_run_id: str | None = None


class ChatRequest(_In):
    message: str = Field(description="The user's message; longer than MAX_MESSAGE_LENGTH is a 413")
    parent_message_id: str | None = Field(
        default=None,
        description="Reply under this message (to edit or regenerate, which branches the conversation); "
        "absent: under the newest message; null: a new root",
    )


class MessagePublic(_Out):
    id: str
    session_id: str
    parent_id: str | None
    role: str
    content: str
    run_id: str | None
    created_at: datetime
    children: list[str] = Field(default_factory=list)


class MessageTree(BaseModel):
    messages: list[MessagePublic]
    """Every message of the session, oldest first, each with its children's ids."""
    branch: list[str]
    """Ids root to leaf of the branch ending at ``leaf_id`` (default: the newest message)."""


# --- runs, events, approvals --------------------------------------------------------------
RunStatusLiteral = Literal["running", "awaiting_approval", "completed", "failed", "cancelled"]


class RunPublic(_Out):
    id: str
    session_id: str
    agent_id: str
    user_id: str
    status: RunStatusLiteral
    user_message_id: str | None
    assistant_message_id: str | None
    usage: dict[str, Any]
    error: dict[str, Any] | None
    parent_run_id: str | None
    parent_step_id: str | None
    created_at: datetime
    started_at: datetime
    finished_at: datetime | None
    duration_ms: float | None = None


class RunEventPublic(BaseModel):
    type: str
    seq: int
    run_id: str
    data: dict[str, Any]


class ApprovalPublic(_Out):
    id: str
    run_id: str
    session_id: str
    step_id: str
    capability: str
    args: dict[str, Any]
    args_sha256: str
    reason: str
    status: Literal["pending", "approved", "rejected", "expired"]
    decided_by: str | None
    decided_at: datetime | None
    comment: str | None
    created_at: datetime


class ApprovalDecision(_In):
    decision: Literal["approve", "reject"]
    comment: str | None = Field(default=None, max_length=4000)
