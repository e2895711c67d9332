"""Delegation: an agent hands a sub-task to another agent of the organisation."""

from __future__ import annotations

from typing import Any

from tests.api.server import Api


def delegate_plan(agent_id: str, task: str) -> dict[str, Any]:
    return {"steps": [{"id": "d1", "capability": f"agent__{agent_id}", "args": {"task": task}, "depends_on": []}]}


def test_delegated_step_runs_as_a_nested_child_run(api: Api) -> None:
    helper = api.agent([{"steps": []}, "The helper says 42."], name="Helper")
    lead = api.agent([delegate_plan(helper["id"], "compute the answer"), "The helper found 42."], name="Lead")
    events = api.chat(api.session(lead["id"])["id"], "ask the helper")
    run_id = events[0]["run_id"]

    assert f"agent__{helper['id']}" in next(e for e in events if e["type"] == "run_started")["data"]["capabilities"]
    nested = [e["data"] for e in events if e["type"] == "delegation"]
    assert nested[0]["task"] == "compute the answer"
    child_id = nested[0]["child_run_id"]
    assert {n["step_id"] for n in nested} == {"d1"} and {n["child_run_id"] for n in nested} == {child_id}
    child_types = [n["event"]["type"] for n in nested[1:]]
    assert child_types[0] == "run_started" and child_types[-1] == "done"
    assert "token" in child_types
    finished = next(e["data"] for e in events if e["type"] == "step_finished")
    assert finished["output"] == {"answer": "The helper says 42.", "agent_id": helper["id"], "run_id": child_id}
    assert events[-1]["type"] == "done"

    child = api.ok("GET", f"/v1/runs/{child_id}")
    assert (child["parent_run_id"], child["parent_step_id"], child["status"]) == (run_id, "d1", "completed")
    assert [e["type"] for e in api.events(child_id)][-1] == "done"
    # the sub-agent's answer is not a message of the chat
    contents = [
        m["content"] for m in api.ok("GET", f"/v1/sessions/{events[-1]['data']['sessionId']}/messages")["messages"]
    ]
    assert contents == ["ask the helper", "The helper found 42."]


def test_delegation_cycle_is_refused_by_validation(api: Api) -> None:
    first = api.agent([{"steps": []}, "unused"], name="First")
    second = api.agent([*[delegate_plan(first["id"], "back to you")] * 3, "I cannot hand it back."], name="Second")
    api.ok(
        "PATCH",
        f"/v1/agents/{first['id']}",
        json={
            "metadata": {
                "script": [delegate_plan(second["id"], "over to you"), "Second could not help."]
            }
        },
    )
    events = api.chat(api.session(first["id"])["id"], "go")

    child_plans = [
        e["data"]["event"]["data"]
        for e in events
        if e["type"] == "delegation" and e["data"].get("event", {}).get("type") == "plan"
    ]
    assert child_plans and not child_plans[0]["valid"]
    assert child_plans[0]["errors"] == [
        f"step d1: 'agent__{first['id']}' is not allowed: delegation cycle: {first['id']} -> {second['id']} -> "
        f"{first['id']}"
    ]
    answer = next(e["data"] for e in events if e["type"] == "step_finished")["output"]["answer"]
    assert answer.startswith(f"(I could not use agent__{first['id']} for this: step d1:")
    assert "delegation cycle" in answer
    assert events[-1]["type"] == "done", events[-1]


def test_with_delegation_off_the_planner_never_sees_other_agents(api: Api) -> None:
    other = api.agent([{"steps": []}, "x"], name="Other")
    solo = api.agent(
        [*[delegate_plan(other["id"], "x")] * 3, "Alone, then."],
        name="Solo",
        runtime_policy={"enable_delegation": False},
    )
    events = api.chat(api.session(solo["id"])["id"], "go")
    started = next(e for e in events if e["type"] == "run_started")["data"]
    assert not any(name.startswith("agent__") for name in started["capabilities"])
    plan = next(e for e in events if e["type"] == "plan")["data"]
    assert "delegation is disabled by the runtime policy" in plan["errors"][0]
    assert events[-1]["type"] == "done"
    answer = next(e["data"]["content"] for e in events if e["type"] == "message")
    assert answer.startswith(f"(I could not use agent__{other['id']} for this:") and answer.endswith("Alone, then.")
