"""MCP tools in whole runs: through the runtime graph, and through ``python -m agentrt.runtime``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from agentrt import ListSink, RuntimeSessionContext, create_agent_graph, create_initial_state
from agentrt.context import McpServerDefinition
from agentrt.mcp import InMemoryPinStore, McpCapabilitySource, McpPool
from tests.conftest import plan, scripted_context


def mcp_context(script: list[Any], *servers: McpServerDefinition) -> dict[str, Any]:
    data = scripted_context(script)
    data["available_mcp_servers"] = [server.model_dump(mode="json") for server in servers]
    return data


async def run_turn(ctx: RuntimeSessionContext, pool: McpPool) -> tuple[dict[str, Any], ListSink]:
    sink = ListSink()
    source = McpCapabilitySource(pool, InMemoryPinStore())
    graph = create_agent_graph({"event_sink": sink, "capability_sources": [source]}, ctx)
    state = create_initial_state(ctx.session_id, ctx.agent_id, ctx.org_id, "add 2 and 3", ctx)
    return await graph.ainvoke(state), sink


async def test_a_run_calls_an_mcp_tool(pool: McpPool, stdio_server: McpServerDefinition) -> None:
    ctx = RuntimeSessionContext.model_validate(
        mcp_context([plan(("s1", "mcp__local__add", {"a": 2, "b": 3})), "2 + 3 = 5"], stdio_server)
    )
    result, sink = await run_turn(ctx, pool)

    assert result["status"] == "completed", result.get("error")
    assert result["answer"] == "2 + 3 = 5"
    assert result["step_results"]["s1"]["output"] == {"result": 5}
    started = sink.events[0]["data"]
    assert "mcp__local__add" in started["capabilities"]
    assert sink.types()[:5] == ["run_started", "thinking", "plan", "step_started", "step_finished"]
    assert sink.events[4]["data"]["output"] == {"result": 5}


async def test_a_crashed_server_fails_the_step_not_the_run(pool: McpPool, stdio_server: McpServerDefinition) -> None:
    ctx = RuntimeSessionContext.model_validate(
        mcp_context(
            [
                plan(("s1", "mcp__local__crash", {})),
                plan(("s2", "mcp__local__add", {"a": 1, "b": 1})),
                "It is 2.",
            ],
            stdio_server,
        )
    )
    result, sink = await run_turn(ctx, pool)

    assert result["status"] == "completed", result.get("error")
    assert result["step_results"]["s1"]["status"] == "failed"
    assert "MCP server 'local'" in result["step_results"]["s1"]["error"]
    assert "connection closed" in result["step_results"]["s1"]["error"]
    assert result["step_results"]["s2"]["output"] == {"result": 2}  # a fresh server, after the crash
    assert "replan" in sink.types()
    failed = next(e for e in sink.events if e["type"] == "step_failed")
    assert failed["data"]["capability"] == "mcp__local__crash"


async def test_destructive_mcp_tool_waits_for_approval(pool: McpPool, stdio_server: McpServerDefinition) -> None:
    ctx = RuntimeSessionContext.model_validate(
        mcp_context([plan(("w", "mcp__local__wipe", {"path": "/tmp/x"})), "Deleted."], stdio_server)
    )
    result, sink = await run_turn(ctx, pool)
    assert result["status"] == "awaiting_approval"
    assert "approval_required" in sink.types()
    assert "step_started" not in sink.types()


async def test_an_unreachable_server_is_reported_and_the_run_goes_on(pool: McpPool) -> None:
    broken = McpServerDefinition(id="srv_b", name="broken", command="agentrt-no-such-command")
    ctx = RuntimeSessionContext.model_validate(
        mcp_context([plan(("s1", "calculator", {"expression": "1+1"})), "2"], broken)
    )
    result, sink = await run_turn(ctx, pool)
    assert result["status"] == "completed"
    assert "mcp__broken__*" in sink.events[0]["data"]["unavailable"]


def run_process(payload: dict[str, Any], tmp_path: Path) -> list[dict[str, Any]]:
    proc = subprocess.run(
        [sys.executable, "-m", "agentrt.runtime"],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={
            **os.environ,
            "AGENTRT_CHECKPOINT_DB": str(tmp_path / "cp.sqlite"),
            "AGENTRT_MCP_PINS": str(tmp_path / "pins.json"),
        },
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # the server's own logging never reaches the protocol's streams
    return [json.loads(line) for line in proc.stdout.splitlines()]


def test_process_protocol_runs_mcp_tools_and_resumes_an_approved_one(
    tmp_path: Path, stdio_server: McpServerDefinition
) -> None:
    context = mcp_context(
        [
            plan(("s1", "mcp__local__add", {"a": 17, "b": 25}), ("w", "mcp__local__wipe", {"path": "old.txt"})),
            "17 + 25 = 42, and old.txt is gone.",
        ],
        stdio_server,
    )
    out = run_process({"runtime_context": context, "user_message": "add, then clean up"}, tmp_path)
    assert "mcp__local__add" in out[0]["data"]["capabilities"]
    result = out[-1]["result"]
    assert result["status"] == "awaiting_approval"
    [added] = result["steps"]
    assert added["output"] == {"result": 42}
    [approval] = result["approvals"]
    assert approval["capability"] == "mcp__local__wipe"
    pins = json.loads((tmp_path / "pins.json").read_text())
    assert "wipe" in pins["pins"]["org_7f3a"]["srv_local"]

    resume = {
        "runtime_context": context,
        "resume": {
            "run_id": result["run_id"],
            "decisions": [{"approval_id": approval["approval_id"], "decision": "approve"}],
        },
    }
    out2 = run_process(resume, tmp_path)
    final = out2[-1]
    assert final["success"] is True
    steps = {step["step_id"]: step for step in final["result"]["steps"]}
    assert steps["w"]["output"] == {"result": "deleted old.txt"}
    assert final["result"]["answer"] == "17 + 25 = 42, and old.txt is gone."
