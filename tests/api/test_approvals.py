"""Durable human approval over HTTP: pause, decide, resume under the same run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.api.server import Api, Server


def risky_agent(api: Api, script: list[Any]) -> dict[str, Any]:
    for name in ("file_write", "shell_exec"):
        if not api.ok("GET", "/v1/skills", params={"name": name}):
            api.ok(
                "POST",
                "/v1/skills",
                json={"name": name, "version": "0.1.0", "description": f"test {name}", "schema": {"type": "object"}},
            )
    return api.agent(script, skills=["file_write", "shell_exec", "calculator"])


def write_plan(*steps: tuple[str, str, dict[str, Any]]) -> dict[str, Any]:
    return {"steps": [{"id": i, "capability": c, "args": a, "depends_on": []} for i, c, a in steps]}


def pending(api: Api, run_id: str) -> list[dict[str, Any]]:
    api.wait_run(run_id, ("awaiting_approval", "completed", "failed"))
    return list(api.ok("GET", "/v1/approvals", params={"status": "pending", "run_id": run_id}))


def test_approve_runs_the_step_and_the_stream_goes_on(api: Api, server: Server) -> None:
    agent = risky_agent(api, [write_plan(("w", "file_write", {"path": "a.txt", "content": "approved!"})), "Saved it."])
    chat = api.session(agent["id"])
    first = api.chat(chat["id"], "save a note", until=lambda e: e["type"] == "approval_required")
    run_id = first[0]["run_id"]
    request = first[-1]["data"]
    assert request["capability"] == "file_write"
    assert request["reason"] == "file_write is listed in runtime_policy.high_risk_tools"
    assert not (server.data_dir / "workspace" / "a.txt").exists()

    [approval] = pending(api, run_id)
    assert approval["id"] == request["approval_id"]
    assert approval["args_sha256"] == request["args_sha256"]
    assert api.ok("GET", f"/v1/runs/{run_id}")["status"] == "awaiting_approval"

    decided = api.ok("POST", f"/v1/approvals/{approval['id']}", json={"decision": "approve", "comment": "fine"})
    assert decided["status"] == "approved"
    assert decided["decided_by"] and decided["decided_at"] and decided["comment"] == "fine"

    rest = api.events(run_id, last_event_id=first[-1]["seq"])
    assert [e["type"] for e in rest][:3] == ["approval_resolved", "step_started", "step_finished"]
    assert rest[-1]["type"] == "done"
    assert (server.data_dir / "workspace" / "a.txt").read_text() == "approved!"
    assert api.ok("GET", f"/v1/runs/{run_id}")["status"] == "completed"

    again = api.post(f"/v1/approvals/{approval['id']}", json={"decision": "reject"})
    assert again.status_code == 409
    assert again.json()["code"] == "APPROVAL_ALREADY_DECIDED"


def test_reject_never_runs_the_step_and_replans(api: Api, server: Server) -> None:
    agent = risky_agent(
        api,
        [
            write_plan(("x", "shell_exec", {"cmd": "rm -rf /tmp/nothing"})),
            write_plan(("c", "calculator", {"expression": "1+1"})),
            "Did something safe.",
        ],
    )
    chat = api.session(agent["id"])
    first = api.chat(chat["id"], "clean", until=lambda e: e["type"] == "approval_required")
    run_id = first[0]["run_id"]
    approval_id = first[-1]["data"]["approval_id"]
    api.ok("POST", f"/v1/approvals/{approval_id}", json={"decision": "reject", "comment": "no way"})
    rest = api.events(run_id, last_event_id=first[-1]["seq"])
    kinds = [e["type"] for e in rest]
    assert kinds[:3] == ["approval_resolved", "step_failed", "replan"]
    assert rest[1]["data"]["reason"] == "rejected" and "no way" in rest[1]["data"]["error"]
    assert kinds[-1] == "done"
    assert (
        not (server.data_dir / "workspace" / "shell.log").exists()
        or "rm -rf" not in (server.data_dir / "workspace" / "shell.log").read_text()
    )
    assert api.ok("GET", f"/v1/approvals/{approval_id}")["status"] == "rejected"


def test_two_approvals_in_one_run_decided_separately(api: Api) -> None:
    agent = risky_agent(
        api,
        [
            write_plan(
                ("a", "file_write", {"path": "1.txt", "content": "1"}), ("b", "shell_exec", {"cmd": "echo two"})
            ),
            "Both done.",
        ],
    )
    chat = api.session(agent["id"])
    first = api.chat(chat["id"], "both", until=lambda e: e["type"] == "approval_required")
    run_id = first[0]["run_id"]
    approvals = {a["step_id"]: a for a in pending(api, run_id)}
    assert set(approvals) == {"a", "b"}

    api.ok("POST", f"/v1/approvals/{approvals['a']['id']}", json={"decision": "approve"})
    api.wait_run(run_id, ("awaiting_approval",))
    middle = api.events(run_id, last_event_id=first[-1]["seq"], until=lambda e: e["type"] == "step_finished")
    assert middle[-1]["data"]["step_id"] == "a"
    assert [a["step_id"] for a in pending(api, run_id)] == ["b"]

    api.ok("POST", f"/v1/approvals/{approvals['b']['id']}", json={"decision": "approve"})
    assert api.wait_run(run_id)["status"] == "completed"
    steps = [e["data"]["step_id"] for e in api.events(run_id) if e["type"] == "step_finished"]
    assert steps == ["a", "b"]


def test_unknown_approval_and_other_organisation(api: Api, server: Server) -> None:
    assert api.post("/v1/approvals/apr_nope", json={"decision": "approve"}).status_code == 404
    agent = risky_agent(api, [write_plan(("w", "file_write", {"path": "z.txt", "content": "z"})), "ok"])
    chat = api.session(agent["id"])
    first = api.chat(chat["id"], "go", until=lambda e: e["type"] == "approval_required")
    approval_id = first[-1]["data"]["approval_id"]
    other = server.client(server.create_org("Approval thieves")["api_key"])
    response = other.post(f"/v1/approvals/{approval_id}", json={"decision": "approve"})
    assert response.status_code == 404
    assert other.ok("GET", "/v1/approvals", params={"status": "pending"}) == []
    other.http.close()
    bad = api.post(f"/v1/approvals/{approval_id}", json={"decision": "maybe"})
    assert bad.status_code == 422 and bad.json()["code"] == "VALIDATION_ERROR"
    api.ok("POST", f"/v1/approvals/{approval_id}", json={"decision": "reject"})


@pytest.mark.parametrize("kill", [False, True], ids=["graceful", "sigkill"])
def test_approval_survives_a_restart(fresh_server: Server, kill: bool) -> None:
    api = fresh_server.client()
    agent = risky_agent(
        api,
        [write_plan(("w", "file_write", {"path": "r.txt", "content": "after restart"})), "Written after the restart."],
    )
    chat = api.session(agent["id"])
    first = api.chat(chat["id"], "write", until=lambda e: e["type"] == "approval_required")
    run_id = first[0]["run_id"]
    api.wait_run(run_id, ("awaiting_approval",))
    api.http.close()

    fresh_server.restart(kill=kill)
    api = fresh_server.client()
    assert api.ok("GET", f"/v1/runs/{run_id}")["status"] == "awaiting_approval"
    [approval] = api.ok("GET", "/v1/approvals", params={"status": "pending"})
    api.ok("POST", f"/v1/approvals/{approval['id']}", json={"decision": "approve"})
    assert api.wait_run(run_id)["status"] == "completed"
    assert (Path(fresh_server.data_dir) / "workspace" / "r.txt").read_text() == "after restart"
    events = api.events(run_id)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[-1]["type"] == "done"
    api.http.close()


def test_cancel_right_after_the_approval_request_always_ends_the_run(api: Api) -> None:
    """A cancel racing the pause must end the run, with its error event, every time."""
    agent = api.agent(
        [write_plan(("c", "calculator", {"expression": "1+1"})), "never"],
        skills=["calculator"],
        runtime_policy={"high_risk_tools": ["calculator"]},
    )
    for _ in range(8):
        chat = api.session(agent["id"])
        first = api.chat(chat["id"], "go", until=lambda e: e["type"] == "approval_required")
        run_id = first[0]["run_id"]
        assert api.ok("POST", f"/v1/runs/{run_id}/cancel")["status"] == "cancelled"
        rest = api.events(run_id, last_event_id=first[-1]["seq"])
        assert rest[-1]["type"] == "error" and rest[-1]["data"]["cause"]["code"] == "RUN_CANCELLED"
        assert api.ok("GET", f"/v1/approvals/{first[-1]['data']['approval_id']}")["status"] == "expired"
