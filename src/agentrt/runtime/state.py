"""The state a run carries through the graph, checkpointed between nodes.

Everything but ``context`` is plain JSON, so a checkpoint written by one version of
agentrt is readable by the next. Every node reads the context as ``state["context"]``.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal, TypedDict

from agentrt.context import RuntimeSessionContext

RunStatus = Literal["running", "awaiting_approval", "completed", "failed", "cancelled"]
STATE_VERSION = 1


class StepRecord(TypedDict, total=False):
    step_id: str
    capability: str
    args: dict[str, Any]
    status: Literal["succeeded", "failed", "rejected"]
    output: Any
    error: str | None
    reason: str | None
    plan_index: int
    started_at: float
    finished_at: float
    duration_ms: float


class ApprovalRecord(TypedDict, total=False):
    approval_id: str
    run_id: str
    step_id: str
    capability: str
    args: dict[str, Any]
    args_sha256: str
    reason: str
    status: Literal["pending", "approved", "rejected", "expired"]
    comment: str | None
    decided_at: float | None


class AgentState(TypedDict, total=False):
    state_version: int
    run_id: str
    session_id: str
    agent_id: str
    org_id: str
    user_message: str
    context: RuntimeSessionContext
    conversation: list[dict[str, str]]
    """Earlier turns of the conversation branch, from memory: ``{role, content}``."""
    recalled: list[str]
    status: RunStatus
    plan: list[dict[str, Any]]
    """The plan being executed, as validated."""
    plans: list[dict[str, Any]]
    """Every plan the model wrote in this run, valid or not, with its validation."""
    step_results: dict[str, StepRecord]
    approvals: dict[str, ApprovalRecord]
    repair_attempts: int
    replan_attempts: int
    answer: str | None
    error: dict[str, Any] | None
    usage: dict[str, int]
    llm_calls: int
    event_seq: int
    started_at: float


def new_run_id() -> str:
    return f"run_{uuid.uuid4().hex}"


def create_initial_state(
    session_id: str,
    agent_id: str,
    org_id: str,
    user_message: str,
    context: RuntimeSessionContext,
    *,
    run_id: str | None = None,
) -> AgentState:
    """The first state of a turn (the seed's signature, plus an optional ``run_id``)."""
    return AgentState(
        state_version=STATE_VERSION,
        run_id=run_id or new_run_id(),
        session_id=session_id,
        agent_id=agent_id,
        org_id=org_id,
        user_message=user_message,
        context=context,
        conversation=[],
        recalled=[],
        status="running",
        plan=[],
        plans=[],
        step_results={},
        approvals={},
        repair_attempts=0,
        replan_attempts=0,
        answer=None,
        error=None,
        usage={"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        llm_calls=0,
        event_seq=0,
        started_at=time.time(),
    )
