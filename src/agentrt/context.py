"""The seed's ``RuntimeSessionContext`` and the models it is made of.

Field names and defaults are a public contract: they match, one for one, the JSON that
the TypeScript API's ``buildRuntimeSessionContext`` emits through ``JSON.stringify``
(``undefined`` fields are absent, ``description`` may be ``null``). Every model is
frozen and strict: a missing or wrong-typed field is a ``pydantic.ValidationError``
that names the field.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_HIGH_RISK_TOOLS: tuple[str, ...] = ("code_run", "shell_exec", "file_write")


class _SeedModel(BaseModel):
    model_config = ConfigDict(
        strict=True,
        frozen=True,
        extra="ignore",
        populate_by_name=True,
        serialize_by_alias=True,
    )


class AgentConfig(_SeedModel):
    id: str
    name: str
    description: str | None = None
    system_prompt: str = ""
    model: str | None = None
    """Absent when the agent has none: the runtime then uses the default model."""
    temperature: float = 0.7
    max_tokens: int = 4096
    metadata: dict[str, Any] = Field(default_factory=dict)


class SkillDefinition(_SeedModel):
    id: str
    name: str
    description: str | None = None
    version: str = "0.0.0"
    source: str = "local"
    input_schema: dict[str, Any] = Field(default_factory=dict, alias="schema")
    """JSON Schema of the skill's input; ``schema`` on the wire."""
    metadata: dict[str, Any] = Field(default_factory=dict)


class ToolDefinition(_SeedModel):
    """A tool bound to the agent (the seed leaves ``available_tools`` untyped)."""

    name: str
    id: str | None = None
    description: str | None = None
    input_schema: dict[str, Any] = Field(default_factory=dict, alias="schema")
    destructive: bool = False
    """Declares the tool high-risk regardless of the policy's list."""
    metadata: dict[str, Any] = Field(default_factory=dict)


class McpServerDefinition(_SeedModel):
    """An MCP server, in the shape of the usual ``mcpServers`` configuration files."""

    id: str
    name: str
    transport: Literal["stdio", "http"] = "stdio"
    command: str | None = None
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    url: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)


class RuntimePolicy(_SeedModel):
    max_iterations: int = 10
    max_replan_attempts: int = 3
    enable_parallel_execution: bool = True
    enable_delegation: bool = True
    require_approval_for_high_risk: bool = True
    high_risk_tools: list[str] = Field(default_factory=lambda: list(DEFAULT_HIGH_RISK_TOOLS))
    metadata: dict[str, Any] = Field(default_factory=dict)
    """May add ``max_run_seconds``, ``max_llm_tokens``, ``max_plan_repairs`` and
    ``step_timeout_seconds``."""


class RuntimeSessionContext(_SeedModel):
    org_id: str
    user_id: str
    agent_id: str
    session_id: str
    agent_config: AgentConfig
    available_skills: list[SkillDefinition] = Field(default_factory=list)
    available_tools: list[ToolDefinition] = Field(default_factory=list)
    available_mcp_servers: list[McpServerDefinition] = Field(default_factory=list)
    runtime_policy: RuntimePolicy = Field(default_factory=RuntimePolicy)
    metadata: dict[str, Any] = Field(default_factory=dict)


CONTEXT_MODELS: tuple[type[BaseModel], ...] = (
    RuntimeSessionContext,
    AgentConfig,
    SkillDefinition,
    ToolDefinition,
    McpServerDefinition,
    RuntimePolicy,
)
"""Every model a checkpoint may hold; the checkpoint serializer allows exactly these."""
