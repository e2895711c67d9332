"""Action validation: every planned step checked against the capability graph and policy.

``validate_plan`` never raises. It returns the parsed plan (or ``None``) and a list of
precise, human-readable errors that go back to the planner for a repair.
"""

from __future__ import annotations

import graphlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema
from pydantic import ValidationError

from agentrt.context import RuntimePolicy
from agentrt.runtime.capabilities import CapabilityGraph
from agentrt.runtime.plan import Plan, PlanStep, contains_reference, references_in
from agentrt.runtime.schemas import validator_for


@dataclass(frozen=True, slots=True)
class ValidationResult:
    plan: Plan | None
    errors: list[str]

    @property
    def ok(self) -> bool:
        return self.plan is not None and not self.errors


def _location(path: Collection[Any]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text.lstrip(".")


def parse_plan(raw: Any) -> tuple[Plan | None, list[str]]:
    try:
        return Plan.model_validate(raw), []
    except ValidationError as exc:
        return None, [
            f"plan.{_location(error['loc'])}: {error['msg']}" if error["loc"] else f"plan: {error['msg']}"
            for error in exc.errors()
        ]


def _schema_errors(step: PlanStep, schema: dict[str, Any]) -> list[str]:
    try:
        found = list(validator_for(schema).iter_errors(step.args))
    except (jsonschema.SchemaError, TypeError, ValueError, RecursionError) as exc:
        return [f"step {step.id} ({step.capability}): the capability's input schema is invalid: {exc}"]
    messages = []
    for error in found:
        # A reference is checked against the schema once resolved, at execution time.
        if contains_reference(error.instance) and error.validator in (
            "type",
            "format",
            "pattern",
            "enum",
            "const",
            "minimum",
            "maximum",
            "minLength",
            "maxLength",
        ):
            continue
        where = _location(error.absolute_path)
        prefix = f"args.{where}" if where else "args"
        messages.append(f"step {step.id} ({step.capability}): {prefix}: {error.message}")
    return messages


def _cycle_errors(plan: Plan) -> list[str]:
    ids = {step.id for step in plan.steps}
    graph = {
        step.id: {dep for dep in set(step.depends_on) | references_in(step.args) if dep in ids} for step in plan.steps
    }
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        cycle = exc.args[1]
        return ["dependency cycle: " + " -> ".join(str(node) for node in reversed(cycle))]
    return []


def validate_plan(
    raw: Any,
    graph: CapabilityGraph,
    policy: RuntimePolicy,
    *,
    completed: Mapping[str, Any] | None = None,
    taken: Collection[str] = (),
) -> ValidationResult:
    """Check a plan as the model wrote it.

    ``completed`` maps ids of steps that succeeded in an earlier plan of this run to their
    outputs: a new plan may depend on them. ``taken`` holds every id already used in the
    run (failed and rejected steps too): a new plan may not reuse any of them.
    """
    try:
        return _validate(raw, graph, policy, completed or {}, set(taken) | set(completed or {}))
    except Exception as exc:  # the validator must never take a run down
        return ValidationResult(None, [f"plan could not be validated: {exc!r}"])


def _validate(
    raw: Any, graph: CapabilityGraph, policy: RuntimePolicy, completed: Mapping[str, Any], taken: set[str]
) -> ValidationResult:
    plan, errors = parse_plan(raw)
    if plan is None:
        return ValidationResult(None, errors)
    if len(plan.steps) > policy.max_iterations:
        errors.append(f"plan has {len(plan.steps)} steps; the limit (max_iterations) is {policy.max_iterations}")
    cycles = _cycle_errors(plan)
    errors.extend(cycles)
    seen: set[str] = set()
    all_ids = {step.id for step in plan.steps}
    for step in plan.steps:
        if step.id in seen:
            errors.append(f"step id {step.id!r} is used more than once")
        elif step.id in taken:
            errors.append(f"step id {step.id!r} belongs to a step that already ran; give new steps new ids")
        capability = graph.get(step.capability)
        if capability is None:
            if step.capability in graph.refused:
                errors.append(f"step {step.id}: {step.capability!r} is not allowed: {graph.refused[step.capability]}")
            elif step.capability in graph.unavailable:
                errors.append(
                    f"step {step.id}: {step.capability!r} cannot be used: {graph.unavailable[step.capability]}"
                )
            else:
                available = ", ".join(graph.names()) or "none"
                errors.append(f"step {step.id}: unknown capability {step.capability!r}; available: {available}")
        else:
            errors.extend(_schema_errors(step, capability.input_schema))
        for kind, targets in (("depends on", step.depends_on), ("refers to", sorted(references_in(step.args)))):
            for target in targets:
                if target in seen or target in completed:
                    continue
                if target in taken and target not in all_ids:
                    errors.append(f"step {step.id} {kind} {target!r}, which did not succeed (it has no output)")
                elif target not in all_ids:
                    errors.append(f"step {step.id} {kind} {target!r}, but there is no step {target!r}")
                elif not cycles:
                    errors.append(f"step {step.id} {kind} {target!r}, which does not come earlier in the plan")
        seen.add(step.id)
    return ValidationResult(plan if not errors else None, errors)
