"""Starting and resuming runs with a checkpointer: what the process protocol and the
service layer drive. One run is one LangGraph thread (``thread_id = run_id``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.types import Command

from agentrt.context import CONTEXT_MODELS, RuntimeSessionContext
from agentrt.errors import ApprovalError, RunNotFoundError
from agentrt.events import EventEmitter, EventSink, discard_event
from agentrt.runtime.approvals import Decision, check_decisions
from agentrt.runtime.graph import create_agent_graph
from agentrt.runtime.state import AgentState, RunStatus, create_initial_state

DURABILITY = "exit"
"""Checkpoint when the graph stops (done, failed or paused for approval), not after every
step: a run is resumed only from an approval pause, and one cut short by a crash is ended
``failed``, never replayed (that could repeat a side effect)."""


def checkpoint_serializer() -> JsonPlusSerializer:
    """Checkpoints hold plain JSON plus the context models, and may load nothing else."""
    return JsonPlusSerializer(allowed_msgpack_modules=CONTEXT_MODELS)


@dataclass
class RunResult:
    run_id: str
    status: RunStatus
    answer: str | None
    plan: list[dict[str, Any]]
    steps: list[dict[str, Any]]
    approvals: list[dict[str, Any]]
    usage: dict[str, int]
    error: dict[str, Any] | None = None
    last_seq: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def pending_approvals(self) -> list[dict[str, Any]]:
        return [a for a in self.approvals if a.get("status") == "pending"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "answer": self.answer,
            "plan": self.plan,
            "steps": self.steps,
            "approvals": self.approvals,
            "usage": self.usage,
            "error": self.error,
            **self.extra,
        }


def result_from_state(values: Mapping[str, Any], *, interrupted: bool) -> RunResult:
    status: RunStatus = values.get("status", "running")
    if interrupted:
        status = "awaiting_approval"
    elif status == "running":
        status = "failed"
    return RunResult(
        run_id=values["run_id"],
        status=status,
        answer=values.get("answer"),
        plan=list(values.get("plan", [])),
        steps=list(values.get("step_results", {}).values()),
        approvals=list(values.get("approvals", {}).values()),
        usage=dict(values.get("usage", {})),
        error=values.get("error"),
        last_seq=values.get("event_seq", 0),
    )


class AgentRuntime:
    """Runs turns with a checkpointer, so a run paused for approval can be resumed —
    by this process or by another one reading the same checkpoint store."""

    def __init__(self, checkpointer: BaseCheckpointSaver[Any], services: Mapping[str, Any] | None = None) -> None:
        self.checkpointer = checkpointer
        self.services: dict[str, Any] = dict(services or {})

    def _graph(self, runtime_context: RuntimeSessionContext, sink: EventSink, overrides: Mapping[str, Any]) -> Any:
        return create_agent_graph(
            {**self.services, **overrides, "event_sink": sink}, runtime_context, checkpointer=self.checkpointer
        )

    @staticmethod
    def _config(run_id: str) -> dict[str, Any]:
        return {"configurable": {"thread_id": run_id}, "recursion_limit": 200}

    async def _finish(self, graph: Any, run_id: str, sink: EventSink, emit_done: bool) -> RunResult:
        snapshot = await graph.aget_state(self._config(run_id))
        result = result_from_state(snapshot.values, interrupted=bool(snapshot.interrupts))
        if emit_done and result.status == "completed":
            emitter = EventEmitter(run_id, sink, last_seq=result.last_seq)
            await emitter.emit(
                "done", {"run_id": run_id, "status": result.status, "session_id": snapshot.values.get("session_id")}
            )
            result.last_seq = emitter.seq
        return result

    async def start(
        self,
        runtime_context: RuntimeSessionContext,
        user_message: str,
        *,
        sink: EventSink = discard_event,
        run_id: str | None = None,
        emit_done: bool = True,
        services: Mapping[str, Any] | None = None,
        last_seq: int = 0,
    ) -> RunResult:
        """Run a turn until it completes, fails or pauses for approval.

        ``last_seq`` counts the events the caller already logged for this run; the
        runtime's own events follow them.
        """
        graph = self._graph(runtime_context, sink, services or {})
        state: AgentState = create_initial_state(
            runtime_context.session_id,
            runtime_context.agent_id,
            runtime_context.org_id,
            user_message,
            runtime_context,
            run_id=run_id,
        )
        state["event_seq"] = last_seq
        await graph.ainvoke(state, self._config(state["run_id"]), durability=DURABILITY)
        return await self._finish(graph, state["run_id"], sink, emit_done)

    async def state(self, run_id: str, runtime_context: RuntimeSessionContext) -> Mapping[str, Any]:
        graph = self._graph(runtime_context, discard_event, {})
        snapshot = await graph.aget_state(self._config(run_id))
        values = snapshot.values or {}
        stored = values.get("context")
        if (
            not values
            or stored is None
            or (stored.org_id, stored.session_id)
            != (
                runtime_context.org_id,
                runtime_context.session_id,
            )
        ):
            raise RunNotFoundError(f"no run {run_id!r} in this session")
        return {**values, "__interrupted__": bool(snapshot.interrupts)}

    async def resume(
        self,
        runtime_context: RuntimeSessionContext,
        run_id: str,
        decisions: Iterable[Decision],
        *,
        sink: EventSink = discard_event,
        emit_done: bool = True,
        services: Mapping[str, Any] | None = None,
    ) -> RunResult:
        values = await self.state(run_id, runtime_context)
        if not values["__interrupted__"]:
            raise ApprovalError(f"run {run_id!r} is not awaiting approval", code="RUN_NOT_AWAITING_APPROVAL")
        checked = check_decisions(values.get("approvals", {}), decisions)
        graph = self._graph(runtime_context, sink, services or {})
        command: Command[Any] = Command(resume={"decisions": [d.model_dump() for d in checked]})
        await graph.ainvoke(command, self._config(run_id), durability=DURABILITY)
        return await self._finish(graph, run_id, sink, emit_done)
