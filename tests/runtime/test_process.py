"""The process protocol, driven as the seed's TypeScript API drives it: a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import plan, scripted_context

SKILLS_DIR = Path(__file__).parent / "skills"


def run_process(
    payload: str, tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentrt.runtime", *args],
        input=payload,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={
            **os.environ,
            "AGENTRT_CHECKPOINT_DB": str(tmp_path / "cp.sqlite"),
            "AGENTRT_SKILLS_DIR": str(SKILLS_DIR),
            **(env or {}),
        },
    )


def lines(proc: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in proc.stdout.splitlines()]


def test_seed_example_context_runs_a_whole_turn(tmp_path: Path) -> None:
    context = scripted_context([plan(("s1", "calculator", {"expression": "17*23"})), "17*23 = 391"])
    proc = run_process(json.dumps({"runtime_context": context, "user_message": "What is 17*23?"}), tmp_path)

    assert proc.returncode == 0, proc.stderr
    out = lines(proc)
    events, final = out[:-1], out[-1]
    assert [e["type"] for e in events] == [
        "run_started",
        "thinking",
        "plan",
        "step_started",
        "step_finished",
        "token",
        "token",
        "token",
        "message",
        "done",
    ]
    assert [e["seq"] for e in events] == list(range(1, 11))
    assert final["success"] is True
    result = final["result"]
    assert result["status"] == "completed"
    assert result["answer"] == "17*23 = 391"
    assert result["plan"] == [
        {"id": "s1", "capability": "calculator", "args": {"expression": "17*23"}, "depends_on": []}
    ]
    assert result["steps"][0]["output"] == {"expression": "17*23", "result": 391}
    assert result["run_id"] == events[0]["run_id"]
    assert proc.stderr == ""


def test_approval_stop_then_resume_invocation(tmp_path: Path) -> None:
    context = scripted_context(
        [plan(("w", "file_write", {"path": "notes.txt", "content": "hi"})), "Saved notes.txt."],
        tools=[{"name": "file_write", "description": "Writes a file in the workspace"}],
    )
    first = run_process(json.dumps({"runtime_context": context, "user_message": "save a note"}), tmp_path)
    assert first.returncode == 0, first.stderr
    out = lines(first)
    assert out[-2]["type"] == "approval_required"
    result = out[-1]["result"]
    assert result["status"] == "awaiting_approval"
    [approval] = [a for a in result["approvals"] if a["status"] == "pending"]
    assert approval["capability"] == "file_write"
    assert not (tmp_path / "workspace" / "notes.txt").exists()

    resume = {
        "runtime_context": context,
        "resume": {
            "run_id": result["run_id"],
            "decisions": [{"approval_id": approval["approval_id"], "decision": "approve"}],
        },
    }
    second = run_process(json.dumps(resume), tmp_path)
    assert second.returncode == 0, second.stderr
    out2 = lines(second)
    assert [e["type"] for e in out2[:-1]] == [
        "approval_resolved",
        "step_started",
        "step_finished",
        "token",
        "token",
        "message",
        "done",
    ]
    assert out2[0]["seq"] == out[-2]["seq"] + 1
    assert out2[-1]["result"]["status"] == "completed"
    assert (tmp_path / "workspace" / "notes.txt").read_text() == "hi"

    again = run_process(json.dumps(resume), tmp_path)
    assert again.returncode != 0
    assert lines(again)[-1]["error"]["code"] == "RUN_NOT_AWAITING_APPROVAL"
    assert (tmp_path / "workspace" / "notes.txt").read_text() == "hi"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ("{not json", "input is not JSON"),
        ("[1, 2]", "input must be a JSON object"),
        (json.dumps({"user_message": "hi"}), "runtime_context: Field required"),
        (
            json.dumps({"runtime_context": {**scripted_context([]), "agent_config": {"id": "a"}}, "user_message": "x"}),
            "runtime_context.agent_config.name: Field required",
        ),
        (
            json.dumps({"runtime_context": {**scripted_context([]), "org_id": 7}, "user_message": "x"}),
            "runtime_context.org_id: Input should be a valid string",
        ),
        (json.dumps({"runtime_context": scripted_context([])}), "give exactly one of user_message or resume"),
    ],
)
def test_bad_input_fails_cleanly(tmp_path: Path, payload: str, reason: str) -> None:
    proc = run_process(payload, tmp_path)
    assert proc.returncode == 2
    [final] = lines(proc)
    assert final["success"] is False
    assert final["error"]["code"] == "INVALID_INPUT"
    assert reason in final["error"]["message"]
    assert reason in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "cp.sqlite").exists()  # nothing half-done


def test_failed_run_exits_non_zero_with_reason(tmp_path: Path) -> None:
    context = scripted_context([{"steps": []}])  # no answer scripted
    proc = run_process(json.dumps({"runtime_context": context, "user_message": "hi"}), tmp_path)
    assert proc.returncode == 1
    final = lines(proc)[-1]
    assert final["success"] is False
    assert final["error"]["code"] == "SCRIPT_EXHAUSTED"
    assert "script has 1 entries" in proc.stderr


def test_serve_mode_tags_every_line_with_its_request(tmp_path: Path) -> None:
    requests = [
        {"id": "a", "runtime_context": scripted_context([{"steps": []}, "first"]), "user_message": "1"},
        {
            "id": "b",
            "runtime_context": scripted_context([plan(("s1", "calculator", {"expression": "2+2"})), "four"]),
            "user_message": "2",
        },
        "garbage",
    ]
    payload = "\n".join(r if isinstance(r, str) else json.dumps(r) for r in requests) + "\n"
    proc = run_process(payload, tmp_path, "--serve")
    assert proc.returncode == 0, proc.stderr
    out = lines(proc)
    finals = {line["id"]: line for line in out if "success" in line}
    assert finals["a"]["result"]["answer"] == "first"
    assert finals["b"]["result"]["answer"] == "four"
    assert finals[None]["error"]["code"] == "INVALID_INPUT"
    for request_id in ("a", "b"):
        events = [line["event"] for line in out if line.get("id") == request_id and "event" in line]
        assert events[0]["type"] == "run_started" and events[-1]["type"] == "done"
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
