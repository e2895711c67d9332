"""The ``PlannerAgent``: asks the LLM for a plan over the capability graph."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agentrt.context import RuntimeSessionContext
from agentrt.llm._base import ChatMessage, LLMProvider, LLMRequest, StructuredResult
from agentrt.runtime.capabilities import CapabilityGraph
from agentrt.runtime.plan_schema import per_capability_plan_schema
from agentrt.runtime.state import StepRecord

PLAN_INSTRUCTIONS = """\
Plan how to answer the user's latest message with the capabilities listed below.
Reply with one JSON object: {{"steps": [{{"id": "s1", "capability": "<name>", "args": {{...}}, "depends_on": []}}]}}.
- "args" must match the capability's input schema.
- Pass an earlier step's output with "${{s1}}", a field of it with "${{s1.field}}"; a ${{...}} inside a longer
  string is inserted as text. A step that uses another's output lists it in "depends_on".
- Steps that do not depend on each other run at the same time.
- Use only the capabilities listed, and at most {max_steps} steps.
- If no capability is needed, reply {{"steps": []}}; the answer is written after the plan has run."""


def plan_schema(capability_names: Sequence[str], max_steps: int) -> dict[str, Any]:
    """The JSON Schema the model's plan must match (structured output)."""
    capability: dict[str, Any] = {"type": "string"}
    if capability_names:
        capability["enum"] = list(capability_names)
    return {
        "type": "object",
        "properties": {
            "steps": {
                "type": "array",
                "maxItems": max_steps,
                "items": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string"},
                        "capability": capability,
                        "args": {"type": "object"},
                        "depends_on": {"type": "array", "items": {"type": "string"}},
                    },
                    "required": ["id", "capability", "args", "depends_on"],
                    "additionalProperties": False,
                },
            }
        },
        "required": ["steps"],
        "additionalProperties": False,
    }


def _capability_lines(graph: CapabilityGraph) -> str:
    lines = []
    for capability in graph.capabilities.values():
        risk = " [high-risk: runs only after a human approves]" if capability.high_risk else ""
        lines.append(
            f"- {capability.name}{risk}: {capability.description}\n"
            f"  input schema: {json.dumps(capability.input_schema, ensure_ascii=False)}\n"
            f"  output: {capability.output_description}"
        )
    return "\n".join(lines) or "(none: reply with an empty plan)"


def _history_lines(results: dict[str, StepRecord]) -> str:
    lines = []
    for record in results.values():
        outcome = (
            f"output {json.dumps(record.get('output'), ensure_ascii=False, default=str)}"
            if record.get("status") == "succeeded"
            else f"{record.get('status')}: {record.get('error')}"
        )
        lines.append(f"- {record['step_id']} {record['capability']}({json.dumps(record.get('args'))}) -> {outcome}")
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class PlanningInput:
    user_message: str
    conversation: Sequence[ChatMessage] = ()
    recalled: Sequence[str] = ()
    step_results: dict[str, StepRecord] | None = None
    validation_errors: Sequence[str] = ()
    replan_reason: str | None = None


_SCHEMA_CACHE_SIZE = 512
_schema_cache: dict[Any, tuple[tuple[dict[str, Any], ...], dict[str, Any]]] = {}
"""Plan schemas by (capabilities and their schema objects, max steps, used ids): building
one costs more than a turn's other planning work, and most turns ask for the same."""


class PlannerAgent:
    """Turns a message (and what happened so far) into a plan, via structured output."""

    def __init__(self, llm: LLMProvider, graph: CapabilityGraph, runtime_context: RuntimeSessionContext) -> None:
        self.llm = llm
        self.graph = graph
        self.runtime_context = runtime_context

    def messages(self, planning: PlanningInput) -> tuple[ChatMessage, ...]:
        policy = self.runtime_context.runtime_policy
        system = [
            self.runtime_context.agent_config.system_prompt,
            PLAN_INSTRUCTIONS.format(max_steps=policy.max_iterations),
            "Capabilities:\n" + _capability_lines(self.graph),
            *self.graph.instructions(),
        ]
        if planning.recalled:
            system.append("What you remember about this user:\n" + "\n".join(f"- {f}" for f in planning.recalled))
        request = [f"User message: {planning.user_message}"]
        if planning.step_results:
            request.append(
                "Steps already run in this turn (their ids can be referenced):\n"
                + _history_lines(planning.step_results)
            )
        if planning.replan_reason:
            request.append(f"The previous plan could not finish: {planning.replan_reason}. Plan the rest anew.")
        if planning.validation_errors:
            request.append(
                "Your previous plan was refused; fix these errors:\n"
                + "\n".join(f"- {error}" for error in planning.validation_errors)
            )
        return (
            ChatMessage("system", "\n\n".join(part for part in system if part)),
            *planning.conversation,
            ChatMessage("user", "\n\n".join(request)),
        )

    def response_schema(self, planning: PlanningInput) -> dict[str, Any]:
        """The plan's JSON Schema: each step's args tied to its capability's input schema, and
        ids numbered (s1, s2, … skipping ids this turn already used), so a constrained decoder
        cannot write a malformed plan; every provider takes it as structured-output schema."""
        results = planning.step_results or {}
        capabilities = list(self.graph.capabilities.values())
        key = (
            tuple((c.name, id(c.input_schema)) for c in capabilities),
            self.runtime_context.runtime_policy.max_iterations,
            tuple(sorted(sid for sid, r in results.items() if r.get("status") == "succeeded")),
            tuple(sorted(results)),
        )
        cached = _schema_cache.get(key)
        # The schemas themselves are kept with the entry, so an id can never be reused while cached.
        if cached is not None and all(
            a is b for a, b in zip(cached[0], (c.input_schema for c in capabilities), strict=True)
        ):
            return cached[1]
        schema = per_capability_plan_schema(
            self.graph.describe(), max_steps=key[1], completed_ids=list(key[2]), taken_ids=list(key[3])
        )
        if len(_schema_cache) >= _SCHEMA_CACHE_SIZE:
            _schema_cache.clear()
        _schema_cache[key] = (tuple(c.input_schema for c in capabilities), schema)
        return schema

    async def plan(self, planning: PlanningInput, *, call_index: int) -> StructuredResult:
        config = self.runtime_context.agent_config
        request = LLMRequest(
            messages=self.messages(planning),
            temperature=config.temperature,
            max_tokens=config.max_tokens,
            response_schema=self.response_schema(planning),
            schema_name="plan",
            call_index=call_index,
        )
        return await self.llm.generate_structured(request)
