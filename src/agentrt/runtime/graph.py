"""``create_agent_graph``: the run as a LangGraph ``StateGraph``.

    start → plan → validate ─┬─> execute ─┬─> respond → END
              ↑   (repair) ──┘     ↑  │    ├─> await_approval (interrupt) → execute
              └──── replan <───────┼──┘    └─> fail → END
                                   └─ (step failed, attempts left)

Each node reads the context as ``state["context"]``. The graph is compiled once per
checkpointer; ``create_agent_graph`` binds the run's services (LLM, skills, memory, event
sink) through the run config, so they are never stored in the state and checkpoints hold
only the context and plain JSON.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt

from agentrt.context import RuntimeSessionContext
from agentrt.errors import AgentrtError, InvalidInputError
from agentrt.events import EventEmitter, EventSink, discard_event
from agentrt.llm._base import ChatMessage, LLMProvider, LLMRequest, Usage
from agentrt.llm._resolve import resolve_provider
from agentrt.memory._base import InMemoryMemory, MemorySystem
from agentrt.runtime.approvals import Decision, apply_decision
from agentrt.runtime.budgets import check_budgets
from agentrt.runtime.capabilities import (
    Capability,
    CapabilityGraph,
    CapabilitySource,
    DelegateFn,
    DelegationTarget,
)
from agentrt.runtime.executor import PlanExecutor
from agentrt.runtime.plan import PlanStep
from agentrt.runtime.planner import PlannerAgent, PlanningInput
from agentrt.runtime.state import AgentState, StepRecord
from agentrt.runtime.validation import validate_plan
from agentrt.skills.registry import SkillRegistry

DEFAULT_MAX_PLAN_REPAIRS = 2
Update = dict[str, Any]


@dataclass
class RunServices:
    """What the nodes of one run use; built by ``create_agent_graph``."""

    runtime_context: RuntimeSessionContext
    llm: LLMProvider
    skills: SkillRegistry
    memory: MemorySystem
    sink: EventSink
    checkpointing: bool
    extra: list[Capability] = field(default_factory=list)
    agents: list[DelegationTarget] = field(default_factory=list)
    delegate: DelegateFn | None = None
    sources: list[CapabilitySource] = field(default_factory=list)
    emitter: EventEmitter | None = None
    _capabilities: CapabilityGraph | None = None

    async def capability_graph(self) -> CapabilityGraph:
        """Built on first use in this process (asking each source, e.g. MCP servers, once)."""
        if self._capabilities is None:
            extra, unavailable = list(self.extra), {}
            for found in await asyncio.gather(*(source(self.runtime_context) for source in self.sources)):
                extra.extend(found.capabilities)
                unavailable.update(found.unavailable)
            self._capabilities = CapabilityGraph.from_context(
                self.runtime_context,
                self.skills,
                extra=extra,
                agents=self.agents,
                delegate=self.delegate,
                unavailable=unavailable,
            )
        return self._capabilities

    def emitter_for(self, state: AgentState) -> EventEmitter:
        """The run's emitter, its sequence caught up with the state (after a resume)."""
        if self.emitter is None or self.emitter.run_id != state["run_id"]:
            self.emitter = EventEmitter(state["run_id"], self.sink, last_seq=state.get("event_seq", 0))
        else:
            self.emitter.seq = max(self.emitter.seq, state.get("event_seq", 0))
        return self.emitter


def _usage_update(state: AgentState, usage: Usage) -> dict[str, int]:
    current = state.get("usage") or {}
    return (Usage(current.get("prompt_tokens", 0), current.get("completion_tokens", 0)) + usage).to_dict()


def _conversation(state: AgentState) -> tuple[ChatMessage, ...]:
    return tuple(ChatMessage(m["role"], m["content"]) for m in state.get("conversation", []))  # type: ignore[arg-type]


def _plan_steps(state: AgentState) -> list[PlanStep]:
    return [PlanStep.model_validate(step) for step in state.get("plan", [])]


def _validation_errors(state: AgentState) -> list[str]:
    """Why the latest plan was refused (empty when it passed, or there is none yet)."""
    plans = state.get("plans") or []
    return list(plans[-1]["errors"]) if plans and plans[-1].get("valid") is False else []


def _fallback_notice(state: AgentState) -> str | None:
    """When repairs ran out: the sentence that opens the direct answer, naming what could not be used."""
    errors = _validation_errors(state)
    if not errors:
        return None
    raw = (state.get("plans") or [{}])[-1].get("raw")
    steps = raw.get("steps") if isinstance(raw, dict) else None
    names = sorted({str(s["capability"]) for s in steps or [] if isinstance(s, dict) and s.get("capability")})
    what = f"I could not use {', '.join(names)} for this" if names else "I could not make a usable plan for this"
    return f"({what}: {errors[0]}.)"


def _outputs(results: Mapping[str, StepRecord]) -> dict[str, Any]:
    return {sid: r.get("output") for sid, r in results.items() if r.get("status") == "succeeded"}


class _RunNodes:
    """The nodes of one run, bound to its services."""

    def __init__(self, services: RunServices) -> None:
        self.s = services
        self.policy = services.runtime_context.runtime_policy
        self.max_repairs = int(self.policy.metadata.get("max_plan_repairs", DEFAULT_MAX_PLAN_REPAIRS))

    # --- helpers -----------------------------------------------------------------
    def _check_budget(self, state: AgentState, usage: dict[str, int] | None = None) -> None:
        check_budgets(
            self.policy,
            started_at=state["started_at"],
            total_tokens=(usage or state.get("usage") or {}).get("total_tokens", 0),
        )

    # --- nodes -------------------------------------------------------------------
    async def start(self, state: AgentState) -> Update:
        emitter = self.s.emitter_for(state)
        ctx = state["context"]
        graph = await self.s.capability_graph()
        await emitter.emit(
            "run_started",
            {
                "agent_id": ctx.agent_id,
                "session_id": ctx.session_id,
                "model": f"{self.s.llm.name}:{self.s.llm.model}",
                "capabilities": graph.names(),
                "unavailable": dict(graph.unavailable),
                "instruction_skills": sorted(graph.guidance),
            },
        )
        conversation = await self.s.memory.conversation(ctx)
        recalled = await self.s.memory.recall(ctx, state["user_message"])
        await emitter.emit(
            "thinking",
            {
                "content": "Planning how to answer…",
                "history_messages": len(conversation),
                "recalled_memories": len(recalled),
            },
        )
        return {
            "conversation": [{"role": m.role, "content": m.content} for m in conversation],
            "recalled": list(recalled),
        }

    async def plan(self, state: AgentState) -> Update:
        self._check_budget(state)
        planner = PlannerAgent(self.s.llm, await self.s.capability_graph(), state["context"])
        failures = [r for r in state.get("step_results", {}).values() if r.get("status") != "succeeded"]
        reason = "; ".join(f"step {r['step_id']} {r.get('status')}: {r.get('error')}" for r in failures) or None
        result = await planner.plan(
            PlanningInput(
                user_message=state["user_message"],
                conversation=_conversation(state),
                recalled=state.get("recalled", []),
                step_results=state.get("step_results") or None,
                validation_errors=_validation_errors(state),
                replan_reason=reason if state.get("replan_attempts") else None,
            ),
            call_index=state.get("llm_calls", 0),
        )
        usage = _usage_update(state, result.usage)
        self._check_budget(state, usage)
        plans = [*state.get("plans", []), {"raw": result.data, "valid": None, "errors": []}]
        return {"plans": plans, "llm_calls": state.get("llm_calls", 0) + 1, "usage": usage}

    async def validate(self, state: AgentState) -> Update:
        emitter = self.s.emitter_for(state)
        plans = list(state["plans"])
        raw = plans[-1]["raw"]
        results = state.get("step_results", {})
        checked = validate_plan(
            raw, await self.s.capability_graph(), self.policy, completed=_outputs(results), taken=results.keys()
        )
        plans[-1] = {"raw": raw, "valid": checked.ok, "errors": checked.errors}
        steps = raw.get("steps") if isinstance(raw, dict) else raw
        await emitter.emit(
            "plan",
            {
                "steps": steps if checked.plan is None else [s.model_dump() for s in checked.plan.steps],
                "attempt": len(plans),
                "valid": checked.ok,
                "errors": checked.errors,
            },
        )
        if checked.ok and checked.plan is not None:
            return {"plans": plans, "plan": [s.model_dump() for s in checked.plan.steps]}
        attempts = state.get("repair_attempts", 0)
        if attempts < self.max_repairs:
            await emitter.emit(
                "replan",
                {
                    "reason": "invalid_plan",
                    "errors": checked.errors,
                    "attempt": attempts + 1,
                },
            )
        return {"plans": plans, "repair_attempts": attempts + 1}

    async def execute(self, state: AgentState) -> Update:
        emitter = self.s.emitter_for(state)
        executor = PlanExecutor(
            run_id=state["run_id"],
            runtime_context=state["context"],
            graph=await self.s.capability_graph(),
            emitter=emitter,
            check_budget=lambda: self._check_budget(state),
        )
        outcome = await executor.execute(
            _plan_steps(state),
            len(state.get("plans", [])),
            state.get("step_results", {}),
            state.get("approvals", {}),
        )
        update: Update = {"step_results": outcome.results, "approvals": outcome.approvals, "status": "running"}
        if outcome.failures(len(state.get("plans", []))) and outcome.pending_approvals:
            # The plan is abandoned: its open approval requests expire.
            approvals = dict(outcome.approvals)
            for approval_id in outcome.pending_approvals:
                approvals[approval_id] = {**approvals[approval_id], "status": "expired", "decided_at": time.time()}
                await emitter.emit(
                    "approval_resolved",
                    {
                        "approval_id": approval_id,
                        "step_id": approvals[approval_id]["step_id"],
                        "decision": "expired",
                        "comment": "the plan was abandoned after a failed step",
                    },
                )
            update["approvals"] = approvals
        elif outcome.pending_approvals:
            update["status"] = "awaiting_approval"
        return update

    async def await_approval(self, state: AgentState) -> Update:
        approvals = dict(state.get("approvals", {}))
        pending = [a for a in approvals.values() if a.get("status") == "pending"]
        if not self.s.checkpointing:
            # No checkpointer: the run cannot pause in place; it ends awaiting approval.
            return {"status": "awaiting_approval"}
        answer = interrupt({"approvals": pending})
        emitter = self.s.emitter_for(state)
        raw_decisions = answer.get("decisions", []) if isinstance(answer, dict) else []
        for raw in raw_decisions:
            decision = Decision.model_validate(raw)
            record = approvals.get(decision.approval_id)
            if record is None or record.get("status") != "pending":
                continue
            approvals[decision.approval_id] = apply_decision(record, decision)
            await emitter.emit(
                "approval_resolved",
                {
                    "approval_id": decision.approval_id,
                    "step_id": record["step_id"],
                    "decision": decision.decision,
                    "comment": decision.comment,
                    "decided_by": decision.decided_by,
                },
            )
        return {"approvals": approvals, "status": "running"}

    async def replan(self, state: AgentState) -> Update:
        emitter = self.s.emitter_for(state)
        plan_index = len(state.get("plans", []))
        failures = [
            {"step_id": r["step_id"], "capability": r["capability"], "status": r.get("status"), "error": r.get("error")}
            for r in state.get("step_results", {}).values()
            if r.get("plan_index") == plan_index and r.get("status") != "succeeded"
        ]
        attempt = state.get("replan_attempts", 0) + 1
        await emitter.emit("replan", {"reason": "step_failed", "failures": failures, "attempt": attempt})
        return {"replan_attempts": attempt, "repair_attempts": 0}

    async def respond(self, state: AgentState) -> Update:
        self._check_budget(state)
        emitter = self.s.emitter_for(state)
        ctx = state["context"]
        config = ctx.agent_config
        messages: list[ChatMessage] = []
        if config.system_prompt:
            messages.append(ChatMessage("system", config.system_prompt))
        messages.extend(_conversation(state))
        messages.append(ChatMessage("user", state["user_message"]))
        notice = _fallback_notice(state)
        if notice:
            messages.append(
                ChatMessage(
                    "system", f"No usable plan could be made ({notice}) Answer the user directly, without tools."
                )
            )
        results = [r for r in state.get("step_results", {}).values() if r.get("status") == "succeeded"]
        if results:
            lines = "\n".join(
                f"- {r['step_id']} {r['capability']}({r.get('args')}) -> {r.get('output')}" for r in results
            )
            messages.append(
                ChatMessage(
                    "system", f"Results of the steps run for this message:\n{lines}\nAnswer the user using them."
                )
            )
        request = LLMRequest(
            messages=tuple(messages),
            temperature=config.temperature,
            max_tokens=config.max_tokens,
            call_index=state.get("llm_calls", 0),
        )
        parts: list[str] = []
        if notice:
            parts.append(notice + "\n\n")
            await emitter.emit("token", {"text": parts[0]})
        usage = Usage()
        async for chunk in self.s.llm.stream_text(request):
            if chunk.text:
                parts.append(chunk.text)
                await emitter.emit("token", {"text": chunk.text})
            if chunk.usage is not None:
                usage = usage + chunk.usage
        answer = "".join(parts)
        total = _usage_update(state, usage)
        update: Update = {"llm_calls": state.get("llm_calls", 0) + 1, "usage": total}
        self._check_budget(state, total)
        await emitter.emit("message", {"role": "assistant", "content": answer})
        await self.s.memory.record_turn(ctx, state["user_message"], answer)
        return {**update, "answer": answer, "status": "completed"}

    async def fail(self, state: AgentState) -> Update:
        emitter = self.s.emitter_for(state)
        errors = _validation_errors(state)
        if errors:
            code, message = (
                "PLAN_INVALID",
                (
                    "I could not make a valid plan for this request. The last plan was refused because: "
                    + "; ".join(errors)
                ),
            )
        else:
            failures = [r for r in state.get("step_results", {}).values() if r.get("status") != "succeeded"]
            code, message = (
                "REPLAN_LIMIT",
                (
                    f"I could not complete this request after {state.get('replan_attempts', 0)} re-plans. "
                    + "; ".join(
                        f"{r['capability']} ({r['step_id']}) {r.get('status')}: {r.get('error')}" for r in failures[-3:]
                    )
                ),
            )
        await emitter.emit("message", {"role": "assistant", "content": message})
        error = {"code": code, "message": message}
        await emitter.emit("error", error)
        return {"answer": message, "status": "failed", "error": error}

    # --- dispatch ----------------------------------------------------------------
    async def run_node(self, name: str, state: AgentState) -> Update:
        """Run one node; an agentrt error inside it fails the run with an ``error`` event."""
        emitter = self.s.emitter_for(state)
        try:
            update: Update = await getattr(self, name)(state)
        except AgentrtError as exc:
            await emitter.emit("error", exc.to_dict())
            return {"status": "failed", "error": exc.to_dict(), "event_seq": emitter.seq}
        update["event_seq"] = emitter.seq
        return update


# --- routing: pure functions of the state -------------------------------------------------
# (async, so LangGraph runs them on the loop instead of hopping to a worker thread)
def _failed(state: AgentState) -> bool:
    return state.get("status") == "failed"


def _max_repairs(state: AgentState) -> int:
    metadata = state["context"].runtime_policy.metadata
    return int(metadata.get("max_plan_repairs", DEFAULT_MAX_PLAN_REPAIRS))


async def after_validate(state: AgentState) -> str:
    if _failed(state):
        return END
    if not _validation_errors(state):
        return "execute"
    if state.get("repair_attempts", 0) <= _max_repairs(state):
        return "plan"
    # Out of repairs: answer directly (saying what could not be used), or fail if the policy says so.
    on_invalid = state["context"].runtime_policy.metadata.get("on_invalid_plan", "answer")
    return "fail" if on_invalid == "fail" else "respond"


async def after_execute(state: AgentState) -> str:
    if _failed(state):
        return END
    plan_index = len(state.get("plans", []))
    if any(
        r.get("plan_index") == plan_index and r.get("status") != "succeeded"
        for r in state.get("step_results", {}).values()
    ):
        max_replans = state["context"].runtime_policy.max_replan_attempts
        return "replan" if state.get("replan_attempts", 0) < max_replans else "fail"
    if state.get("status") == "awaiting_approval":
        return "await_approval"
    return "respond"


async def after_await(state: AgentState) -> str:
    return END if state.get("status") == "awaiting_approval" else "execute"


def end_if_failed(next_node: str) -> Callable[[AgentState], Awaitable[str]]:
    async def route(state: AgentState) -> str:
        return END if _failed(state) else next_node

    return route


# --- the compiled graph, shared by every run ------------------------------------------------
NODES_KEY = "__agentrt_nodes"
NODE_NAMES = ("start", "plan", "validate", "execute", "await_approval", "replan", "respond", "fail")


def _dispatcher(name: str) -> Callable[[AgentState, RunnableConfig], Awaitable[Update]]:
    async def node(state: AgentState, config: RunnableConfig) -> Update:
        nodes: _RunNodes = config["configurable"][NODES_KEY]
        return await nodes.run_node(name, state)

    node.__name__ = name
    return node


def build_state_graph() -> StateGraph[AgentState]:
    """The graph's shape. Nodes find the run's services in ``config["configurable"]``."""
    builder: StateGraph[AgentState] = StateGraph(AgentState)
    for name in NODE_NAMES:
        builder.add_node(name, _dispatcher(name))  # type: ignore[call-overload]
    builder.add_edge(START, "start")
    builder.add_conditional_edges("start", end_if_failed("plan"), ["plan", END])
    builder.add_conditional_edges("plan", end_if_failed("validate"), ["validate", END])
    builder.add_conditional_edges("validate", after_validate, ["execute", "plan", "respond", "fail", END])
    builder.add_conditional_edges("execute", after_execute, ["respond", "await_approval", "replan", "fail", END])
    builder.add_conditional_edges("await_approval", after_await, ["execute", END])
    builder.add_conditional_edges("replan", end_if_failed("plan"), ["plan", END])
    builder.add_edge("respond", END)
    builder.add_edge("fail", END)
    return builder


_compiled: weakref.WeakKeyDictionary[BaseCheckpointSaver[Any], Any] = weakref.WeakKeyDictionary()
_compiled_without_checkpointer: list[Any] = []


def compiled_graph(checkpointer: BaseCheckpointSaver[Any] | None) -> Any:
    """Compile once per checkpointer (compiling costs milliseconds; binding a run, microseconds)."""
    if checkpointer is None:
        if not _compiled_without_checkpointer:
            _compiled_without_checkpointer.append(build_state_graph().compile())
        return _compiled_without_checkpointer[0]
    graph = _compiled.get(checkpointer)
    if graph is None:
        graph = _compiled[checkpointer] = build_state_graph().compile(checkpointer=checkpointer)
    return graph


def create_agent_graph(
    context: Mapping[str, Any] | None,
    runtime_context: RuntimeSessionContext,
    *,
    checkpointer: BaseCheckpointSaver[Any] | None = None,
) -> Any:
    """The seed's entry point: a compiled graph for one agent in one session.

    ``context`` holds the services: ``llm_provider`` (default: chosen from
    ``agent_config.model``), ``skill_registry`` (default: the built-in skills),
    ``memory_system`` (default: in-process), and optionally ``event_sink``,
    ``capabilities`` (extra ``Capability`` objects), ``capability_sources`` (async
    callables listing more per run, e.g. MCP servers' tools), ``agents``
    (``DelegationTarget`` list) and ``delegate`` (how to run a delegated step).
    ``await graph.ainvoke(create_initial_state(...))`` runs a whole turn.
    """
    context = context or {}
    if not isinstance(runtime_context, RuntimeSessionContext):
        raise InvalidInputError("runtime_context must be a RuntimeSessionContext")
    skills: SkillRegistry = context.get("skill_registry") or SkillRegistry.with_builtins()
    extra: list[Capability] = list(context.get("capabilities") or [])
    agents: list[DelegationTarget] = list(context.get("agents") or [])
    delegate: DelegateFn | None = context.get("delegate")
    services = RunServices(
        runtime_context=runtime_context,
        llm=context.get("llm_provider") or resolve_provider(runtime_context.agent_config),
        skills=skills,
        memory=context.get("memory_system") or InMemoryMemory(),
        sink=context.get("event_sink") or discard_event,
        checkpointing=checkpointer is not None,
        extra=extra,
        agents=agents,
        delegate=delegate,
        sources=list(context.get("capability_sources") or []),
    )
    return compiled_graph(checkpointer).with_config({"configurable": {NODES_KEY: _RunNodes(services)}})
