"""The capability graph (the seed's Stage B): everything this agent may do in a run.

Built from the context alone: built-in skills, the agent's bound skills and tools, MCP
tools handed in by the caller, and — when delegation is enabled — the organisation's
other agents. Risk is decided here, from the policy and the definitions, never by the
model: a capability is high-risk exactly when its name is in
``runtime_policy.high_risk_tools`` or its definition declares it destructive.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from agentrt.context import RuntimeSessionContext
from agentrt.skills._base import Skill, StepContext
from agentrt.skills.registry import SkillRegistry

CapabilityKind = Literal["skill", "tool", "mcp", "agent"]
Invoke = Callable[[dict[str, Any], StepContext], Awaitable[Any]]

AGENT_PREFIX = "agent__"
DEFAULT_MAX_DELEGATION_DEPTH = 3
"""How many delegations deep a run may go (``runtime_policy.metadata.max_delegation_depth``)."""


@dataclass(frozen=True, slots=True)
class Capability:
    name: str
    kind: CapabilityKind
    description: str
    input_schema: dict[str, Any]
    output_description: str
    high_risk: bool
    invoke: Invoke = field(repr=False, compare=False)
    instructions: str | None = None

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "description": self.description,
            "input_schema": self.input_schema,
            "output": self.output_description,
            "high_risk": self.high_risk,
        }


@dataclass(frozen=True, slots=True)
class DelegationTarget:
    """Another agent of the organisation this one may hand a sub-task to."""

    agent_id: str
    name: str
    description: str = ""


DelegateFn = Callable[[DelegationTarget, str, StepContext], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class ExternalCapabilities:
    """What a capability source (MCP servers, …) offers this run, and what it could not."""

    capabilities: list[Capability] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)
    """Name → reason (a server that cannot be reached, a tool withheld until re-approved)."""


CapabilitySource = Callable[[RuntimeSessionContext], Awaitable[ExternalCapabilities]]
"""Called once per run (and again after a resume) to list capabilities beyond the registry."""


def _schema(candidate: dict[str, Any] | None, fallback: dict[str, Any]) -> dict[str, Any]:
    return candidate if candidate else fallback


class CapabilityGraph:
    def __init__(
        self,
        capabilities: Iterable[Capability],
        *,
        refused: dict[str, str] | None = None,
        unavailable: dict[str, str] | None = None,
        guidance: dict[str, str] | None = None,
    ) -> None:
        self.capabilities: dict[str, Capability] = {c.name: c for c in capabilities}
        self.guidance: dict[str, str] = guidance or {}
        """Bound skills' instructions (skill name → text), for the planner's prompt."""
        self.refused: dict[str, str] = refused or {}
        """Names the policy forbids, with the reason (e.g. delegation disabled)."""
        self.unavailable: dict[str, str] = unavailable or {}
        """Bound in the context but with no implementation here, with the reason."""

    def __contains__(self, name: object) -> bool:
        return name in self.capabilities

    def __len__(self) -> int:
        return len(self.capabilities)

    def get(self, name: str) -> Capability | None:
        return self.capabilities.get(name)

    def names(self) -> list[str]:
        return sorted(self.capabilities)

    def describe(self) -> list[dict[str, Any]]:
        return [self.capabilities[name].describe() for name in self.names()]

    def instructions(self) -> list[str]:
        return [*self.guidance.values(), *(c.instructions for c in self.capabilities.values() if c.instructions)]

    @classmethod
    def from_context(
        cls,
        runtime_context: RuntimeSessionContext,
        registry: SkillRegistry,
        *,
        extra: Iterable[Capability] = (),
        agents: Iterable[DelegationTarget] = (),
        delegate: DelegateFn | None = None,
        unavailable: dict[str, str] | None = None,
    ) -> CapabilityGraph:
        policy = runtime_context.runtime_policy
        risky = set(policy.high_risk_tools)
        found: list[Capability] = []
        unavailable = dict(unavailable or {})
        refused: dict[str, str] = {}

        def from_skill(
            impl: Skill,
            kind: CapabilityKind,
            *,
            name: str | None = None,
            description: str | None = None,
            schema: dict[str, Any] | None = None,
            destructive: bool = False,
        ) -> Capability:
            capability_name = name or impl.name
            return Capability(
                name=capability_name,
                kind=kind,
                description=description or impl.description,
                input_schema=_schema(schema, impl.input_schema),
                output_description=impl.output_description,
                high_risk=capability_name in risky or destructive or impl.destructive,
                invoke=impl.run,
            )

        for builtin in registry.builtin():
            found.append(from_skill(builtin, "skill"))
        guidance: dict[str, str] = {}
        for definition in runtime_context.available_skills:
            instructions = str(definition.metadata.get("instructions") or "").strip()
            if instructions:
                guidance[definition.name] = f"Skill {definition.name!r} (version {definition.version}):\n{instructions}"
            bound = registry.get(definition.name)
            if bound is None:
                if not instructions:  # an instruction-only skill guides the planner; it is no capability
                    unavailable[definition.name] = "no implementation of this skill is installed"
                continue
            found.append(from_skill(bound, "skill", description=definition.description, schema=definition.input_schema))
        for tool in runtime_context.available_tools:
            tool_impl = registry.get(tool.name)
            if tool_impl is None:
                unavailable[tool.name] = "no implementation of this tool is installed"
                continue
            found.append(
                from_skill(
                    tool_impl,
                    "tool",
                    description=tool.description,
                    schema=tool.input_schema,
                    destructive=tool.destructive,
                )
            )
        for capability in extra:
            if capability.name in risky and not capability.high_risk:
                capability = replace(capability, high_risk=True)
            found.append(capability)
        chain = [str(a) for a in runtime_context.metadata.get("delegation_chain") or []]
        depth = int(runtime_context.metadata.get("delegation_depth") or 0)
        max_depth = int(policy.metadata.get("max_delegation_depth", DEFAULT_MAX_DELEGATION_DEPTH))
        for target in agents:
            name = f"{AGENT_PREFIX}{target.agent_id}"
            if target.agent_id == runtime_context.agent_id:
                continue
            if not policy.enable_delegation:
                refused[name] = "delegation is disabled by the runtime policy (enable_delegation is false)"
                continue
            if target.agent_id in chain:
                loop = " -> ".join([*chain[chain.index(target.agent_id) :], runtime_context.agent_id, target.agent_id])
                refused[name] = f"delegation cycle: {loop}"
                continue
            if depth >= max_depth:
                refused[name] = f"the delegation depth limit ({max_depth}) is reached"
                continue
            if delegate is None:
                unavailable[name] = "delegation is not available in this runtime"
                continue
            found.append(_agent_capability(name, target, delegate, high_risk=name in risky))
        return cls(found, refused=refused, unavailable=unavailable, guidance=guidance)


def _agent_capability(name: str, target: DelegationTarget, delegate: DelegateFn, *, high_risk: bool) -> Capability:
    async def invoke(args: dict[str, Any], ctx: StepContext) -> Any:
        return await delegate(target, str(args["task"]), ctx)

    return Capability(
        name=name,
        kind="agent",
        description=f"Delegate a sub-task to the agent {target.name!r}. {target.description}".strip(),
        input_schema={
            "type": "object",
            "properties": {"task": {"type": "string", "description": "the sub-task, self-contained"}},
            "required": ["task"],
            "additionalProperties": False,
        },
        output_description="{answer}: the sub-agent's final answer",
        high_risk=high_risk,
        invoke=invoke,
    )
