"""agentrt: a self-hostable agent runtime platform.

The public surface is what this module exports; everything else may move.
"""

from agentrt.context import (
    AgentConfig,
    McpServerDefinition,
    RuntimePolicy,
    RuntimeSessionContext,
    SkillDefinition,
    ToolDefinition,
)
from agentrt.errors import (
    AgentrtError,
    ApprovalError,
    BudgetExceededError,
    InvalidInputError,
    ProviderError,
    RunNotFoundError,
    ScriptExhaustedError,
    SkillError,
)
from agentrt.events import EventEmitter, EventSink, ListSink, RunEvent
from agentrt.runtime import (
    AgentState,
    Capability,
    CapabilityGraph,
    CapabilitySource,
    DelegationTarget,
    ExternalCapabilities,
    Plan,
    PlannerAgent,
    PlanStep,
    create_agent_graph,
    create_initial_state,
    validate_plan,
)
from agentrt.runtime.approvals import Decision
from agentrt.runtime.runner import AgentRuntime, RunResult

__version__ = "0.1.0"

__all__ = [
    "AgentConfig",
    "AgentRuntime",
    "AgentState",
    "AgentrtError",
    "ApprovalError",
    "BudgetExceededError",
    "Capability",
    "CapabilityGraph",
    "CapabilitySource",
    "Decision",
    "DelegationTarget",
    "EventEmitter",
    "EventSink",
    "ExternalCapabilities",
    "InvalidInputError",
    "ListSink",
    "McpServerDefinition",
    "Plan",
    "PlanStep",
    "PlannerAgent",
    "ProviderError",
    "RunEvent",
    "RunNotFoundError",
    "RunResult",
    "RuntimePolicy",
    "RuntimeSessionContext",
    "ScriptExhaustedError",
    "SkillDefinition",
    "SkillError",
    "ToolDefinition",
    "__version__",
    "create_agent_graph",
    "create_initial_state",
    "validate_plan",
]
