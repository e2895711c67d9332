"""High-risk steps pause the run; decisions resume it from the checkpoint."""

from __future__ import annotations

from typing import Any

import pytest

from agentrt import ApprovalError, Decision, ListSink
from agentrt.runtime.approvals import args_sha256
from tests.conftest import plan
from tests.runtime.helpers import Recorder


def approve(approval_id: str) -> Decision:
    return Decision(approval_id=approval_id, decision="approve")


def reject(approval_id: str, comment: str | None = None) -> Decision:
    return Decision(approval_id=approval_id, decision="reject", comment=comment)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def services(recorder: Recorder) -> dict[str, Any]:
    return {
        "skill_registry": recorder.registry(
            recorder.skill("file_write"),
            recorder.skill("shell_exec"),
            recorder.skill("safe"),
            recorder.skill("wipe", destructive=True),
        )
    }


async def test_high_risk_step_waits_for_approval_then_runs_exactly_once(
    make_context: Any, runtime_factory: Any, recorder: Recorder
) -> None:
    ctx = make_context(
        [plan(("s1", "safe", {}), ("w", "file_write", {"path": "a.txt", "from": "${s1.name}"}, ["s1"])), "written"]
    )
    sink = ListSink()
    runtime = await runtime_factory(services(recorder))
    paused = await runtime.start(ctx, "write it", sink=sink)

    assert paused.status == "awaiting_approval"
    assert recorder.calls == {"safe": 1}
    required = [e for e in sink.events if e["type"] == "approval_required"]
    assert len(required) == 1
    data = required[0]["data"]
    assert data["step_id"] == "w" and data["capability"] == "file_write"
    assert data["args"] == {"path": "a.txt", "from": "safe"}
    assert data["args_sha256"] == args_sha256({"path": "a.txt", "from": "safe"})
    assert data["reason"] == "file_write is listed in runtime_policy.high_risk_tools"
    assert sink.types()[-1] == "approval_required"

    # a new process (new connection to the same checkpoint store) resumes it
    resumed_sink = ListSink()
    runtime2 = await runtime_factory(services(recorder))
    done = await runtime2.resume(ctx, paused.run_id, [approve(data["approval_id"])], sink=resumed_sink)

    assert done.status == "completed"
    assert done.answer == "written"
    assert recorder.calls == {"safe": 1, "file_write": 1}
    assert recorder.args[-1] == ("file_write", {"path": "a.txt", "from": "safe"})
    assert resumed_sink.types() == ["approval_resolved", "step_started", "step_finished", "token", "message", "done"]
    # the sequence goes on with no gap across the pause
    assert resumed_sink.events[0]["seq"] == sink.events[-1]["seq"] + 1
    assert [a["status"] for a in done.approvals] == ["approved"]


async def test_rejected_step_never_runs_and_goes_to_the_replanner(
    make_context: Any, runtime_factory: Any, recorder: Recorder
) -> None:
    ctx = make_context([plan(("x", "shell_exec", {"cmd": "rm -rf /"})), plan(("y", "safe", {})), "did the safe thing"])
    runtime = await runtime_factory(services(recorder))
    paused = await runtime.start(ctx, "clean up")
    approval_id = paused.pending_approvals[0]["approval_id"]

    sink = ListSink()
    done = await runtime.resume(ctx, paused.run_id, [reject(approval_id, "too dangerous")], sink=sink)

    assert recorder.calls == {"safe": 1}
    assert done.status == "completed"
    failed = next(e["data"] for e in sink.events if e["type"] == "step_failed")
    assert failed["reason"] == "rejected"
    assert failed["error"] == "a human rejected this step: too dangerous"
    x = next(s for s in done.steps if s["step_id"] == "x")
    assert x["status"] == "rejected"
    assert "replan" in sink.types()


async def test_two_risky_steps_give_two_approvals_decided_one_by_one(
    make_context: Any, runtime_factory: Any, recorder: Recorder
) -> None:
    ctx = make_context([plan(("a", "file_write", {"n": 1}), ("b", "wipe", {"n": 2})), "both done"])
    runtime = await runtime_factory(services(recorder))
    paused = await runtime.start(ctx, "do both")
    by_step = {a["step_id"]: a for a in paused.pending_approvals}
    assert set(by_step) == {"a", "b"}
    assert by_step["b"]["reason"] == "wipe is declared destructive"

    first = await runtime.resume(ctx, paused.run_id, [approve(by_step["a"]["approval_id"])])
    assert first.status == "awaiting_approval"
    assert recorder.calls == {"file_write": 1}
    assert [a["step_id"] for a in first.pending_approvals] == ["b"]

    second = await runtime.resume(ctx, paused.run_id, [approve(by_step["b"]["approval_id"])])
    assert second.status == "completed"
    assert recorder.calls == {"file_write": 1, "wipe": 1}


async def test_unknown_or_decided_approval_is_refused(
    make_context: Any, runtime_factory: Any, recorder: Recorder
) -> None:
    ctx = make_context([plan(("a", "file_write", {})), "ok"])
    runtime = await runtime_factory(services(recorder))
    paused = await runtime.start(ctx, "go")
    approval_id = paused.pending_approvals[0]["approval_id"]

    with pytest.raises(ApprovalError) as unknown:
        await runtime.resume(ctx, paused.run_id, [approve("apr_nope")])
    assert unknown.value.code == "APPROVAL_NOT_FOUND"
    assert recorder.calls == {}

    await runtime.resume(ctx, paused.run_id, [approve(approval_id)])
    with pytest.raises(ApprovalError) as again:
        await runtime.resume(ctx, paused.run_id, [reject(approval_id)])
    assert again.value.code == "RUN_NOT_AWAITING_APPROVAL"
    assert recorder.calls == {"file_write": 1}


async def test_the_same_approval_twice_in_one_resume_is_refused(
    make_context: Any, runtime_factory: Any, recorder: Recorder
) -> None:
    ctx = make_context([plan(("a", "file_write", {}), ("b", "file_write", {"x": 1})), "ok"])
    runtime = await runtime_factory(services(recorder))
    paused = await runtime.start(ctx, "go")
    approval_id = paused.pending_approvals[0]["approval_id"]
    with pytest.raises(ApprovalError) as twice:
        await runtime.resume(ctx, paused.run_id, [approve(approval_id), reject(approval_id)])
    assert twice.value.code == "APPROVAL_ALREADY_DECIDED"


async def test_no_approval_needed_when_policy_says_so(
    make_context: Any, runtime_factory: Any, recorder: Recorder
) -> None:
    ctx = make_context([plan(("a", "file_write", {})), "ok"], policy={"require_approval_for_high_risk": False})
    runtime = await runtime_factory(services(recorder))
    result = await runtime.start(ctx, "go")
    assert result.status == "completed"
    assert recorder.calls == {"file_write": 1}


async def test_risk_comes_from_policy_not_from_the_model(
    make_context: Any, runtime_factory: Any, recorder: Recorder
) -> None:
    """The planner cannot talk a risky capability down: extra keys in a step are refused."""
    risky_plan = {"steps": [{"id": "a", "capability": "file_write", "args": {}, "depends_on": [], "high_risk": False}]}
    ctx = make_context([risky_plan, plan(("a", "file_write", {})), "ok"])
    runtime = await runtime_factory(services(recorder))
    result = await runtime.start(ctx, "go")
    assert result.status == "awaiting_approval"
    assert recorder.calls == {}


async def test_run_of_another_session_is_not_found(make_context: Any, runtime_factory: Any, recorder: Recorder) -> None:
    from agentrt import RunNotFoundError

    ctx = make_context([plan(("a", "file_write", {})), "ok"])
    runtime = await runtime_factory(services(recorder))
    paused = await runtime.start(ctx, "go")
    other = ctx.model_copy(update={"session_id": "sess_other"})
    with pytest.raises(RunNotFoundError):
        await runtime.resume(other, paused.run_id, [approve(paused.pending_approvals[0]["approval_id"])])
