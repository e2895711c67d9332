"""Running the steps of a validated plan: readiness, concurrency, timeouts, approvals.

The executor — not the planner — enforces policy: a high-risk step runs only with an
approval recorded for exactly its step id and arguments.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import jsonschema

from agentrt.context import RuntimeSessionContext
from agentrt.events import EventEmitter
from agentrt.runtime.approvals import new_approval, public_approval
from agentrt.runtime.capabilities import CapabilityGraph
from agentrt.runtime.plan import PlanStep, ReferenceError_, references_in, resolve_references
from agentrt.runtime.schemas import validator_for
from agentrt.runtime.state import ApprovalRecord, StepRecord
from agentrt.skills._base import StepContext

DEFAULT_STEP_TIMEOUT_SECONDS = 60.0


def _json_safe(value: Any) -> Any:
    """The value as it will be stored and sent: JSON types only."""
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return json.loads(json.dumps(value, default=str))
    return value


def _record(
    step: PlanStep,
    args: dict[str, Any],
    plan_index: int,
    status: Literal["succeeded", "failed", "rejected"],
    started: float | None,
    *,
    output: Any = None,
    error: str | None = None,
    reason: str | None = None,
) -> StepRecord:
    finished = time.time()
    started = started or finished
    return StepRecord(
        step_id=step.id,
        capability=step.capability,
        args=args,
        status=status,
        output=output,
        error=error,
        reason=reason,
        plan_index=plan_index,
        started_at=started,
        finished_at=finished,
        duration_ms=round((finished - started) * 1000, 3),
    )


def _has_failure(results: dict[str, StepRecord], plan_index: int) -> bool:
    return any(r.get("status") != "succeeded" for r in results.values() if r.get("plan_index") == plan_index)


@dataclass
class ExecutionOutcome:
    results: dict[str, StepRecord]
    approvals: dict[str, ApprovalRecord]
    pending_approvals: list[str] = field(default_factory=list)

    def failures(self, plan_index: int) -> list[StepRecord]:
        return [
            record
            for record in self.results.values()
            if record.get("plan_index") == plan_index and record.get("status") != "succeeded"
        ]


class PlanExecutor:
    def __init__(
        self,
        *,
        run_id: str,
        runtime_context: RuntimeSessionContext,
        graph: CapabilityGraph,
        emitter: EventEmitter,
        check_budget: Any = None,
    ) -> None:
        self.run_id = run_id
        self.runtime_context = runtime_context
        self.graph = graph
        self.emitter = emitter
        self.policy = runtime_context.runtime_policy
        self.step_timeout = float(self.policy.metadata.get("step_timeout_seconds", DEFAULT_STEP_TIMEOUT_SECONDS))
        self._check_budget = check_budget

    def _needs_approval(self, step: PlanStep) -> bool:
        capability = self.graph.get(step.capability)
        return bool(capability and capability.high_risk and self.policy.require_approval_for_high_risk)

    async def execute(
        self,
        steps: list[PlanStep],
        plan_index: int,
        results: dict[str, StepRecord],
        approvals: dict[str, ApprovalRecord],
    ) -> ExecutionOutcome:
        """Run every step that can run now; stop at a failure or when only approvals remain."""
        results = dict(results)
        approvals = dict(approvals)
        by_step = {record["step_id"]: record for record in approvals.values()}
        while True:
            if self._check_budget is not None:
                self._check_budget()
            outputs = {sid: r.get("output") for sid, r in results.items() if r.get("status") == "succeeded"}
            runnable: list[tuple[PlanStep, dict[str, Any]]] = []
            for step in steps:
                if step.id in results or not self._ready(step, outputs):
                    continue
                approval = by_step.get(step.id)
                if approval is not None:
                    if approval["status"] == "approved":
                        runnable.append((step, approval["args"]))
                    elif approval["status"] == "rejected":
                        results[step.id] = await self._rejected(step, approval, plan_index)
                    continue
                try:
                    args = resolve_references(step.args, outputs)
                except ReferenceError_ as exc:
                    results[step.id] = await self._failed(step, step.args, plan_index, str(exc), "invalid_args")
                    continue
                if self._needs_approval(step):
                    capability = self.graph.get(step.capability)
                    assert capability is not None
                    record = new_approval(self.run_id, step.id, capability, args, self.policy.high_risk_tools)
                    approvals[record["approval_id"]] = record
                    by_step[step.id] = record
                    await self.emitter.emit("approval_required", public_approval(record))
                    continue
                runnable.append((step, args))
            if not runnable or _has_failure(results, plan_index):
                break
            if not self.policy.enable_parallel_execution:
                runnable = runnable[:1]
            if len(runnable) == 1:
                finished = [await self._run(*runnable[0], plan_index)]
            else:
                finished = await asyncio.gather(*(self._run(step, args, plan_index) for step, args in runnable))
            for step_record in finished:
                results[step_record["step_id"]] = step_record
            if _has_failure(results, plan_index):
                break
        pending = [
            record["approval_id"]
            for record in approvals.values()
            if record["status"] == "pending" and record["step_id"] not in results
        ]
        return ExecutionOutcome(results, approvals, pending)

    @staticmethod
    def _ready(step: PlanStep, outputs: dict[str, Any]) -> bool:
        return all(dep in outputs for dep in set(step.depends_on) | references_in(step.args))

    async def _run(self, step: PlanStep, args: dict[str, Any], plan_index: int) -> StepRecord:
        capability = self.graph.get(step.capability)
        assert capability is not None, "validated plans only name known capabilities"
        try:
            validator_for(capability.input_schema).validate(args)
        except (jsonschema.ValidationError, jsonschema.SchemaError) as exc:
            return await self._failed(
                step, args, plan_index, f"args do not match the input schema: {exc.message}", "invalid_args"
            )
        started = time.time()
        await self.emitter.emit("step_started", {"step_id": step.id, "capability": step.capability, "args": args})
        ctx = StepContext(
            run_id=self.run_id, step_id=step.id, runtime_context=self.runtime_context, emit=self.emitter.emit
        )
        try:
            async with asyncio.timeout(self.step_timeout):
                output = _json_safe(await capability.invoke(args, ctx))
        except TimeoutError:
            return await self._failed(
                step, args, plan_index, f"timed out after {self.step_timeout:g}s", "timeout", started=started
            )
        except Exception as exc:  # a capability's failure is the step's, never the run's
            message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            return await self._failed(step, args, plan_index, message, "error", started=started)
        record = _record(step, args, plan_index, "succeeded", started, output=output)
        await self.emitter.emit(
            "step_finished",
            {
                "step_id": step.id,
                "capability": step.capability,
                "output": output,
                "duration_ms": record["duration_ms"],
            },
        )
        return record

    async def _failed(
        self,
        step: PlanStep,
        args: dict[str, Any],
        plan_index: int,
        error: str,
        reason: str,
        *,
        started: float | None = None,
    ) -> StepRecord:
        record = _record(step, args, plan_index, "failed", started, error=error, reason=reason)
        await self.emitter.emit(
            "step_failed",
            {
                "step_id": step.id,
                "capability": step.capability,
                "error": error,
                "reason": reason,
            },
        )
        return record

    async def _rejected(self, step: PlanStep, approval: ApprovalRecord, plan_index: int) -> StepRecord:
        comment = approval.get("comment")
        error = "a human rejected this step" + (f": {comment}" if comment else "")
        await self.emitter.emit(
            "step_failed",
            {
                "step_id": step.id,
                "capability": step.capability,
                "error": error,
                "reason": "rejected",
                "approval_id": approval["approval_id"],
            },
        )
        return _record(step, approval["args"], plan_index, "rejected", None, error=error, reason="rejected")
