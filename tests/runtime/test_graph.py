"""Whole turns through create_agent_graph: the events a user sees, in order."""

from __future__ import annotations

from typing import Any

from agentrt import ListSink, RuntimeSessionContext, create_agent_graph, create_initial_state
from tests.conftest import plan
from tests.runtime.helpers import Recorder, overlaps


async def run_turn(ctx: RuntimeSessionContext, message: str = "hi", **services: Any) -> tuple[dict[str, Any], ListSink]:
    sink = ListSink()
    graph = create_agent_graph({"event_sink": sink, **services}, ctx)
    state = create_initial_state(ctx.session_id, ctx.agent_id, ctx.org_id, message, ctx)
    result = await graph.ainvoke(state)
    return result, sink


async def test_seed_context_turn_streams_the_whole_trace(make_context: Any) -> None:
    ctx = make_context(
        [
            plan(
                ("s1", "calculator", {"expression": "17*23"}),
                ("s2", "calculator", {"expression": "${s1.result} + 1"}, ["s1"]),
            ),
            "It is 392.",
        ]
    )
    result, sink = await run_turn(ctx, "What is 17*23+1?")

    assert sink.types() == [
        "run_started",
        "thinking",
        "plan",
        "step_started",
        "step_finished",
        "step_started",
        "step_finished",
        "token",
        "token",
        "token",
        "message",
    ]
    assert [e["seq"] for e in sink.events] == list(range(1, len(sink.events) + 1))
    assert {e["run_id"] for e in sink.events} == {result["run_id"]}
    started = sink.events[0]["data"]
    assert started["capabilities"] == ["calculator", "current_time"]
    assert started["unavailable"] == {"summarize_text": "no implementation of this skill is installed"}
    s2 = sink.events[5]["data"]
    assert s2["args"] == {"expression": "391 + 1"}
    assert sink.events[6]["data"]["output"] == {"expression": "391 + 1", "result": 392}
    assert "".join(e["data"]["text"] for e in sink.events if e["type"] == "token") == "It is 392."
    assert result["status"] == "completed"
    assert result["answer"] == "It is 392."
    assert result["usage"]["total_tokens"] > 0
    assert result["context"] is ctx


async def test_empty_plan_answers_directly(make_context: Any) -> None:
    ctx = make_context([{"steps": []}, "Hello there!"], name="minimal")
    result, sink = await run_turn(ctx)
    assert sink.types() == ["run_started", "thinking", "plan", "token", "token", "message"]
    assert result["answer"] == "Hello there!"


async def test_string_interpolation_of_references(make_context: Any) -> None:
    recorder = Recorder()
    echo = recorder.skill("echo", schema={"type": "object", "properties": {"text": {"type": "string"}}})
    ctx = make_context(
        [
            plan(("a", "calculator", {"expression": "6*7"}), ("b", "echo", {"text": "answer=${a.result}, all=${a}"})),
            "done",
        ]
    )
    await run_turn(ctx, skill_registry=recorder.registry(echo))
    assert recorder.args == [("echo", {"text": 'answer=42, all={"expression": "6*7", "result": 42}'})]


async def test_independent_steps_overlap_when_parallel(make_context: Any) -> None:
    recorder = Recorder()
    slow_a, slow_b = recorder.skill("slow_a", sleep=0.2), recorder.skill("slow_b", sleep=0.2)
    ctx = make_context([plan(("a", "slow_a", {}), ("b", "slow_b", {})), "ok"])
    await run_turn(ctx, skill_registry=recorder.registry(slow_a, slow_b))
    assert overlaps(recorder.spans["a"], recorder.spans["b"])


async def test_independent_steps_run_one_by_one_when_parallel_is_off(make_context: Any) -> None:
    recorder = Recorder()
    slow_a, slow_b = recorder.skill("slow_a", sleep=0.2), recorder.skill("slow_b", sleep=0.2)
    ctx = make_context(
        [plan(("a", "slow_a", {}), ("b", "slow_b", {})), "ok"], policy={"enable_parallel_execution": False}
    )
    result, sink = await run_turn(ctx, skill_registry=recorder.registry(slow_a, slow_b))
    assert not overlaps(recorder.spans["a"], recorder.spans["b"])
    assert sink.types()[3:7] == ["step_started", "step_finished", "step_started", "step_finished"]
    assert result["status"] == "completed"


async def test_failed_step_triggers_replan_that_sees_the_failure(make_context: Any) -> None:
    recorder = Recorder()
    broken, good = recorder.skill("broken", fail=True), recorder.skill("good")
    script = [plan(("s1", "good", {}), ("s2", "broken", {}, ["s1"])), plan(("s3", "good", {"after": "${s1}"})), "ok"]
    ctx = make_context(script)
    provider_calls: list[Any] = []
    from agentrt.llm import ScriptedProvider

    provider = ScriptedProvider(script)
    result, sink = await run_turn(ctx, skill_registry=recorder.registry(broken, good), llm_provider=provider)
    provider_calls = provider.calls

    assert result["status"] == "completed"
    replans = [e["data"] for e in sink.events if e["type"] == "replan"]
    assert replans == [
        {
            "reason": "step_failed",
            "attempt": 1,
            "failures": [{"step_id": "s2", "capability": "broken", "status": "failed", "error": "broken broke"}],
        }
    ]
    # the re-planner was told what happened, and s1 did not run again
    assert "broken broke" in provider_calls[1].messages[-1].content
    assert recorder.calls == {"good": 2, "broken": 1}
    assert recorder.args[-1] == ("good", {"after": {"ok": True, "name": "good", "args": {}}})


async def test_replanning_stops_at_its_bound(make_context: Any) -> None:
    recorder = Recorder()
    broken = recorder.skill("broken", fail=True)
    script = [plan((f"s{i}", "broken", {})) for i in range(3)]
    ctx = make_context(script, policy={"max_replan_attempts": 2})
    result, sink = await run_turn(ctx, skill_registry=recorder.registry(broken))
    assert recorder.calls["broken"] == 3
    assert [e["data"]["attempt"] for e in sink.events if e["type"] == "replan"] == [1, 2]
    assert sink.types()[-2:] == ["message", "error"]
    assert sink.events[-1]["data"]["code"] == "REPLAN_LIMIT"
    assert result["status"] == "failed"
    assert "broken" in result["answer"]


async def test_step_timeout_is_a_failed_step(make_context: Any) -> None:
    recorder = Recorder()
    hang = recorder.skill("hang", sleep=5)
    ctx = make_context(
        [plan(("s1", "hang", {})), {"steps": []}, "gave up on it"], policy={"metadata": {"step_timeout_seconds": 0.1}}
    )
    result, sink = await run_turn(ctx, skill_registry=recorder.registry(hang))
    failed = [e["data"] for e in sink.events if e["type"] == "step_failed"]
    assert failed == [{"step_id": "s1", "capability": "hang", "error": "timed out after 0.1s", "reason": "timeout"}]
    assert result["status"] == "completed"


async def test_invalid_plan_is_repaired_with_the_validator_message(make_context: Any) -> None:
    from agentrt.llm import ScriptedProvider

    script = [plan(("s1", "calculator", {"expr": "1+1"})), plan(("s1", "calculator", {"expression": "1+1"})), "2"]
    provider = ScriptedProvider(script)
    result, sink = await run_turn(make_context(script), llm_provider=provider)
    plans = [e["data"] for e in sink.events if e["type"] == "plan"]
    assert [p["valid"] for p in plans] == [False, True]
    assert plans[0]["errors"] == [
        "step s1 (calculator): args: 'expression' is a required property",
    ]
    assert "'expression' is a required property" in provider.calls[1].messages[-1].content
    assert result["answer"] == "2"


async def test_out_of_repairs_it_answers_directly_saying_what_it_could_not_use(make_context: Any) -> None:
    bad = plan(("s1", "rm_rf", {}))
    ctx = make_context(
        [bad, bad, bad, "Here is what I can say without it."], policy={"metadata": {"max_plan_repairs": 2}}
    )
    result, sink = await run_turn(ctx)
    assert sink.types().count("plan") == 3
    assert [e["data"]["attempt"] for e in sink.events if e["type"] == "replan"] == [1, 2]
    assert sink.types()[-1] == "message"
    notice = (
        "(I could not use rm_rf for this: step s1: unknown capability 'rm_rf'; available: calculator, current_time.)"
    )
    assert result["answer"] == notice + "\n\nHere is what I can say without it."
    assert "".join(e["data"]["text"] for e in sink.events if e["type"] == "token") == result["answer"]
    assert result["status"] == "completed"


async def test_out_of_repairs_it_fails_when_the_policy_says_so(make_context: Any) -> None:
    bad = plan(("s1", "rm_rf", {}))
    ctx = make_context([bad, bad, bad], policy={"metadata": {"max_plan_repairs": 2, "on_invalid_plan": "fail"}})
    result, sink = await run_turn(ctx)
    assert sink.types().count("plan") == 3
    assert sink.types()[-2:] == ["message", "error"]
    assert result["status"] == "failed"
    assert result["error"]["code"] == "PLAN_INVALID"
    assert "unknown capability 'rm_rf'" in result["answer"]


async def test_token_budget_ends_the_run(make_context: Any) -> None:
    ctx = make_context([{"steps": []}, "word " * 400], policy={"metadata": {"max_llm_tokens": 150}})
    result, sink = await run_turn(ctx)
    assert sink.types()[-1] == "error"
    assert sink.events[-1]["data"]["code"] == "BUDGET_EXCEEDED"
    assert sink.events[-1]["data"]["details"]["budget"] == "max_llm_tokens"
    assert result["status"] == "failed"


async def test_wall_time_budget_ends_the_run(make_context: Any) -> None:
    recorder = Recorder()
    slow = recorder.skill("slow", sleep=0.3)
    ctx = make_context(
        [plan(("s1", "slow", {}), ("s2", "slow", {}, ["s1"])), "never"], policy={"metadata": {"max_run_seconds": 0.2}}
    )
    result, _ = await run_turn(ctx, skill_registry=recorder.registry(slow))
    assert result["error"]["code"] == "BUDGET_EXCEEDED"
    assert "max_run_seconds" in result["error"]["message"]
    assert recorder.calls["slow"] == 1


async def test_script_running_out_is_a_clear_error(make_context: Any) -> None:
    result, sink = await run_turn(make_context([{"steps": []}]))
    assert sink.events[-1]["type"] == "error"
    assert sink.events[-1]["data"] == {
        "code": "SCRIPT_EXHAUSTED",
        "message": "scripted: script has 1 entries but call #2 was made",
    }
    assert result["status"] == "failed"


async def test_delegation_refused_when_disabled(make_context: Any) -> None:
    from agentrt import DelegationTarget

    ctx = make_context(
        [*[plan(("s1", "agent__helper", {"task": "x"}))] * 3, "I will do it myself."],
        policy={"enable_delegation": False},
    )
    result, sink = await run_turn(ctx, agents=[DelegationTarget("helper", "Helper")])
    assert "agent__helper" not in sink.events[0]["data"]["capabilities"]
    plans = [e["data"] for e in sink.events if e["type"] == "plan"]
    assert plans[0]["errors"] == [
        "step s1: 'agent__helper' is not allowed: delegation is disabled by the runtime policy "
        "(enable_delegation is false)"
    ]
    assert result["status"] == "completed"
    assert result["answer"].startswith("(I could not use agent__helper for this: step s1: 'agent__helper' is not")


async def test_delegation_runs_the_delegate(make_context: Any) -> None:
    from agentrt import DelegationTarget

    seen: list[str] = []

    async def delegate(target: DelegationTarget, task: str, ctx: Any) -> dict[str, Any]:
        seen.append(f"{target.agent_id}:{task}")
        return {"answer": "42"}

    ctx = make_context([plan(("s1", "agent__helper", {"task": "compute"})), "helper says 42"])
    result, _ = await run_turn(ctx, agents=[DelegationTarget("helper", "Helper")], delegate=delegate)
    assert seen == ["helper:compute"]
    assert result["step_results"]["s1"]["output"] == {"answer": "42"}
