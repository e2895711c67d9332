"""Action validation: precise refusals, and never a crash on whatever the model writes."""

from __future__ import annotations

import graphlib
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from agentrt import RuntimePolicy, RuntimeSessionContext, validate_plan
from agentrt.runtime.capabilities import CapabilityGraph, DelegationTarget
from agentrt.skills import SkillRegistry
from tests.conftest import load_seed_context, plan


async def _never(args: dict[str, Any], ctx: Any) -> None:
    raise AssertionError("not called")


def graph(**policy: Any) -> tuple[CapabilityGraph, RuntimePolicy]:
    data = load_seed_context()
    data["runtime_policy"].update(policy)
    ctx = RuntimeSessionContext.model_validate(data)
    built = CapabilityGraph.from_context(
        ctx,
        SkillRegistry.with_builtins(),
        agents=[DelegationTarget("helper", "Helper")],
        delegate=_never,  # type: ignore[arg-type]
    )
    return built, ctx.runtime_policy


def errors_of(raw: Any, **policy: Any) -> list[str]:
    g, p = graph(**policy)
    result = validate_plan(raw, g, p)
    assert (result.plan is None) == bool(result.errors)
    return result.errors


def test_a_valid_plan_passes() -> None:
    assert (
        errors_of(
            plan(
                ("s1", "calculator", {"expression": "1+1"}),
                ("s2", "calculator", {"expression": "${s1.result}*2"}, ["s1"]),
            )
        )
        == []
    )


def test_unknown_capability_names_the_available_ones() -> None:
    assert errors_of(plan(("s1", "launch_missiles", {}))) == [
        "step s1: unknown capability 'launch_missiles'; available: agent__helper, calculator, current_time"
    ]


def test_bound_skill_without_implementation_says_so() -> None:
    assert errors_of(plan(("s1", "summarize_text", {}))) == [
        "step s1: 'summarize_text' cannot be used: no implementation of this skill is installed"
    ]


def test_args_that_fail_the_schema() -> None:
    assert errors_of(plan(("s1", "calculator", {"expression": 5}))) == [
        "step s1 (calculator): args.expression: 5 is not of type 'string'"
    ]


def test_reference_to_missing_or_later_step() -> None:
    assert errors_of(plan(("s1", "calculator", {"expression": "${s9}"}))) == [
        "step s1 refers to 's9', but there is no step 's9'"
    ]
    assert errors_of(
        plan(("s1", "calculator", {"expression": "1"}, ["s2"]), ("s2", "calculator", {"expression": "2"}))
    ) == ["step s1 depends on 's2', which does not come earlier in the plan"]


def test_cycle_is_named() -> None:
    errors = errors_of(plan(("a", "calculator", {"expression": "${b}"}), ("b", "calculator", {"expression": "${a}"})))
    assert errors[0] in ("dependency cycle: a -> b -> a", "dependency cycle: b -> a -> b")


def test_too_many_steps() -> None:
    raw = plan(*[(f"s{i}", "calculator", {"expression": "1"}) for i in range(4)])
    assert errors_of(raw, max_iterations=3) == ["plan has 4 steps; the limit (max_iterations) is 3"]


def test_delegation_disabled() -> None:
    assert errors_of(plan(("s1", "agent__helper", {"task": "x"})), enable_delegation=False) == [
        "step s1: 'agent__helper' is not allowed: delegation is disabled by the runtime policy "
        "(enable_delegation is false)"
    ]


def test_duplicate_ids_and_malformed_plans() -> None:
    assert errors_of(plan(("s1", "calculator", {"expression": "1"}), ("s1", "calculator", {"expression": "2"}))) == [
        "step id 's1' is used more than once"
    ]
    assert errors_of({"steps": [{"id": "s1"}]}) == [
        "plan.steps[0].capability: Field required",
    ]
    assert errors_of("not a plan") == ["plan: Input should be a valid dictionary or instance of Plan"]


def test_steps_of_earlier_plans_can_be_referenced_but_not_reused() -> None:
    g, p = graph()
    ok = validate_plan(plan(("s2", "calculator", {"expression": "${s1.result}"})), g, p, completed={"s1": {}})
    assert ok.errors == []
    reused = validate_plan(plan(("s1", "calculator", {"expression": "1"})), g, p, completed={"s1": {}})
    assert reused.errors == ["step id 's1' belongs to a step that already ran; give new steps new ids"]


# --- property-based: arbitrary plans never crash the validator, and what it accepts is sound

ids = st.sampled_from(["s1", "s2", "s3", "s4", "x"])
capabilities = st.sampled_from(["calculator", "current_time", "agent__helper", "nope", "", "summarize_text"])
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=8)
    | st.sampled_from(["${s1}", "${s2.result}", "a${x}"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8,
)
steps = st.fixed_dictionaries(
    {
        "id": ids,
        "capability": capabilities,
        "args": st.dictionaries(st.sampled_from(["expression", "timezone", "task", "q"]), json_values, max_size=2),
        "depends_on": st.lists(ids, max_size=3),
    },
)
raw_plans = st.one_of(
    st.fixed_dictionaries({"steps": st.lists(steps, max_size=6)}),
    json_values,
    st.fixed_dictionaries({"steps": st.lists(st.one_of(steps, json_values), max_size=4)}),
)


@settings(max_examples=400, deadline=None)
@given(raw=raw_plans, delegation=st.booleans(), max_iterations=st.integers(min_value=0, max_value=6))
def test_validator_never_raises_and_accepts_only_sound_plans(raw: Any, delegation: bool, max_iterations: int) -> None:
    g, p = graph(enable_delegation=delegation, max_iterations=max_iterations)
    result = validate_plan(raw, g, p)
    if result.plan is None:
        assert result.errors
        return
    assert result.errors == []
    assert len(result.plan.steps) <= max_iterations
    for step in result.plan.steps:
        assert step.capability in g
        assert delegation or not step.capability.startswith("agent__")
    order = {step.id: i for i, step in enumerate(result.plan.steps)}
    assert len(order) == len(result.plan.steps)
    sorter = graphlib.TopologicalSorter({s.id: set(s.depends_on) for s in result.plan.steps})
    sorter.prepare()  # raises CycleError if the accepted plan had a cycle
    for step in result.plan.steps:
        assert all(order[dep] < order[step.id] for dep in step.depends_on)


def test_delegation_cycle_and_depth_limit_are_refused() -> None:
    data = load_seed_context()
    data["metadata"] = {"delegation_chain": ["agent_a", "agent_b"], "delegation_depth": 2}
    data["runtime_policy"]["metadata"] = {"max_delegation_depth": 3}
    ctx = RuntimeSessionContext.model_validate(data)
    agents = [DelegationTarget("agent_a", "A"), DelegationTarget("fresh", "Fresh")]
    g = CapabilityGraph.from_context(ctx, SkillRegistry.with_builtins(), agents=agents, delegate=_never)  # type: ignore[arg-type]
    assert g.refused == {"agent__agent_a": "delegation cycle: agent_a -> agent_b -> agent_research -> agent_a"}
    assert "agent__fresh" in g

    data["metadata"]["delegation_depth"] = 3
    deep = CapabilityGraph.from_context(
        RuntimeSessionContext.model_validate(data), SkillRegistry.with_builtins(), agents=agents, delegate=_never
    )  # type: ignore[arg-type]
    assert deep.refused["agent__fresh"] == "the delegation depth limit (3) is reached"


def test_ids_of_failed_steps_are_not_reused() -> None:
    g, p = graph()
    reused = validate_plan(plan(("s1", "calculator", {"expression": "1"})), g, p, completed={}, taken={"s1"})
    assert reused.errors == ["step id 's1' belongs to a step that already ran; give new steps new ids"]
    dependent = validate_plan(plan(("s2", "calculator", {"expression": "${s1}"})), g, p, completed={}, taken={"s1"})
    assert dependent.errors == ["step s2 refers to 's1', which did not succeed (it has no output)"]
