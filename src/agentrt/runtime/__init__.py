"""The agent runtime: plan → validate → execute → observe/replan → respond, on LangGraph."""

from agentrt.runtime.capabilities import (
    Capability,
    CapabilityGraph,
    CapabilitySource,
    DelegationTarget,
    ExternalCapabilities,
)
from agentrt.runtime.graph import create_agent_graph
from agentrt.runtime.plan import Plan, PlanStep
from agentrt.runtime.planner import PlannerAgent
from agentrt.runtime.state import AgentState, create_initial_state
from agentrt.runtime.validation import ValidationResult, validate_plan

__all__ = [
    "AgentState",
    "Capability",
    "CapabilityGraph",
    "CapabilitySource",
    "DelegationTarget",
    "ExternalCapabilities",
    "Plan",
    "PlanStep",
    "PlannerAgent",
    "ValidationResult",
    "create_agent_graph",
    "create_initial_state",
    "validate_plan",
]
