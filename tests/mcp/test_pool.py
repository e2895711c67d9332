"""McpPool against real MCP servers (the SDK's own server API), over stdio and HTTP."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import pytest

from agentrt.context import McpServerDefinition
from agentrt.errors import AgentrtError
from agentrt.mcp import McpError, McpPool
from tests.mcp.conftest import HttpServer

ORG = "org_1"


async def test_stdio_lists_and_calls(pool: McpPool, stdio_server: McpServerDefinition) -> None:
    tools = {tool.name: tool for tool in await pool.list_tools(ORG, stdio_server)}
    assert {"add", "echo", "lookup", "wipe", "crash", "hang", "fail"} <= set(tools)
    assert tools["add"].description == "Add two integers."
    assert tools["add"].input_schema["properties"]["a"]["type"] == "integer"

    result = await pool.call_tool(ORG, stdio_server, "add", {"a": 2, "b": 3})
    assert result.structured_content == {"result": 5}
    assert not result.is_error
    assert pool.connection_count() == 1


async def test_concurrent_calls_share_one_connection(pool: McpPool, stdio_server: McpServerDefinition) -> None:
    results = await asyncio.gather(*(pool.call_tool(ORG, stdio_server, "add", {"a": i, "b": 1}) for i in range(5)))
    assert [r.structured_content for r in results] == [{"result": i + 1} for i in range(5)]
    assert pool.connection_count() == 1


async def test_connections_are_per_org_and_definition(pool: McpPool, stdio_server: McpServerDefinition) -> None:
    await pool.list_tools(ORG, stdio_server)
    await pool.list_tools("org_2", stdio_server)
    changed = stdio_server.model_copy(update={"env": {**stdio_server.env, "EXTRA": "1"}})
    await pool.list_tools(ORG, changed)
    assert pool.connection_count() == 3


async def test_stdio_child_gets_only_its_definition_env_and_path(
    pool: McpPool, stdio_server: McpServerDefinition, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTRT_TEST_SECRET", "do-not-leak")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-do-not-leak")
    server = stdio_server.model_copy(update={"env": {**stdio_server.env, "GREETING": "hello"}})
    result = await pool.call_tool(ORG, server, "environment", {})
    env = result.structured_content
    assert isinstance(env, dict)
    env = env.get("result", env)
    assert env["GREETING"] == "hello"
    assert env["PATH"]
    # LC_CTYPE: Python itself sets it at startup under the C locale (PEP 538).
    assert set(env) - {"LC_CTYPE"} == {"PATH", "MCP_TEST_FLAG", "GREETING"}


async def test_crash_mid_call_is_mcp_error_then_reconnects(pool: McpPool, stdio_server: McpServerDefinition) -> None:
    await pool.list_tools(ORG, stdio_server)
    with pytest.raises(McpError) as caught:
        await pool.call_tool(ORG, stdio_server, "crash", {})
    error = caught.value
    assert isinstance(error, AgentrtError)
    assert error.code == "MCP_ERROR"
    assert "'local'" in error.message
    assert "crash" in error.message
    assert "connection closed" in error.message
    assert pool.connection_count() == 0

    result = await pool.call_tool(ORG, stdio_server, "add", {"a": 1, "b": 1})
    assert result.structured_content == {"result": 2}


async def test_hang_is_mcp_error_within_the_timeout(stdio_server: McpServerDefinition) -> None:
    async with McpPool(call_timeout=0.5) as pool:
        await pool.list_tools(ORG, stdio_server)
        started = time.monotonic()
        with pytest.raises(McpError) as caught:
            await pool.call_tool(ORG, stdio_server, "hang", {"seconds": 30})
        assert time.monotonic() - started < 1.5
        assert "timed out after 0.5s" in caught.value.message
        assert pool.connection_count() == 0
        # The next use starts a fresh server.
        result = await pool.call_tool(ORG, stdio_server, "add", {"a": 2, "b": 2})
        assert result.structured_content == {"result": 4}


async def test_server_that_never_answers_times_out_connecting(stdio_server: McpServerDefinition) -> None:
    silent = stdio_server.model_copy(update={"args": ["-c", "import time; time.sleep(60)"]})
    async with McpPool(connect_timeout=0.5) as pool:
        started = time.monotonic()
        with pytest.raises(McpError, match=r"connecting timed out after 0.5s"):
            await pool.list_tools(ORG, silent)
        assert time.monotonic() - started < 1.5
        assert pool.connection_count() == 0


async def test_tool_error_result_is_returned_not_raised(pool: McpPool, stdio_server: McpServerDefinition) -> None:
    result = await pool.call_tool(ORG, stdio_server, "fail", {"message": "no such row"})
    assert result.is_error
    assert "no such row" in result.content[0].text  # type: ignore[union-attr]
    assert pool.connection_count() == 1


async def test_server_that_cannot_start_names_the_reason(pool: McpPool, stdio_server: McpServerDefinition) -> None:
    broken = stdio_server.model_copy(update={"command": "agentrt-no-such-command"})
    with pytest.raises(McpError) as caught:
        await pool.list_tools(ORG, broken)
    assert "cannot connect" in caught.value.message
    assert "agentrt-no-such-command" in caught.value.message

    crashing = stdio_server.model_copy(update={"args": ["-c", "import sys; sys.exit('bad config: no API key')"]})
    with pytest.raises(McpError, match="bad config: no API key"):
        await pool.list_tools(ORG, crashing)


async def test_close_ends_stdio_children_and_refuses_further_use(stdio_server: McpServerDefinition) -> None:
    pool = McpPool()
    result = await pool.call_tool(ORG, stdio_server, "environment", {})
    assert not result.is_error
    assert await _server_pids(), "the stdio server should be running"
    await pool.close()
    assert not await _server_pids()
    with pytest.raises(McpError, match="closed"):
        await pool.list_tools(ORG, stdio_server)


async def _server_pids() -> list[str]:
    proc = await asyncio.create_subprocess_exec(
        "pgrep", "-f", "mcp_test_server.py$", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
    )
    out, _ = await proc.communicate()
    return out.decode().split()


# --- streamable HTTP ----------------------------------------------------------------------------
async def test_http_lists_and_calls_with_headers(pool: McpPool, http_server: McpServerDefinition) -> None:
    names = {tool.name for tool in await pool.list_tools(ORG, http_server)}
    assert {"add", "wipe", "hang"} <= names
    result = await pool.call_tool(ORG, http_server, "add", {"a": 20, "b": 22})
    assert result.structured_content == {"result": 42}


async def test_http_without_the_right_headers_is_mcp_error(pool: McpPool, http_server: McpServerDefinition) -> None:
    wrong = http_server.model_copy(update={"headers": {"Authorization": "Bearer wrong"}})
    with pytest.raises(McpError) as caught:
        await pool.list_tools(ORG, wrong)
    assert "'remote'" in caught.value.message


async def test_http_unreachable_is_mcp_error(pool: McpPool) -> None:
    nowhere = McpServerDefinition(id="srv_x", name="nowhere", transport="http", url="http://127.0.0.1:9/mcp")
    with pytest.raises(McpError, match="nowhere"):
        await pool.list_tools(ORG, nowhere)


async def test_http_crash_is_mcp_error_then_reconnects(
    pool: McpPool, http_server: McpServerDefinition, tmp_path: Path
) -> None:
    server = await asyncio.to_thread(HttpServer, tmp_path / "crashing.log")
    try:
        crashing = http_server.model_copy(update={"id": "srv_crashing", "url": server.url})
        await pool.list_tools(ORG, crashing)
        started = time.monotonic()
        with pytest.raises(McpError) as caught:
            await pool.call_tool(ORG, crashing, "crash", {})
        assert time.monotonic() - started < 5  # noticed when the server goes, not at the timeout
        assert "calling tool 'crash' failed" in caught.value.message
        await asyncio.to_thread(server.stop)
        server = await asyncio.to_thread(HttpServer, tmp_path / "crashing.log", server.port)  # back up
        result = await pool.call_tool(ORG, crashing, "add", {"a": 1, "b": 2})
        assert result.structured_content == {"result": 3}
    finally:
        await asyncio.to_thread(server.stop)


async def test_http_hang_is_mcp_error_then_works(http_server: McpServerDefinition) -> None:
    async with McpPool(call_timeout=0.5) as pool:
        started = time.monotonic()
        with pytest.raises(McpError, match="timed out"):
            await pool.call_tool(ORG, http_server, "hang", {"seconds": 30})
        assert time.monotonic() - started < 5
        result = await pool.call_tool(ORG, http_server, "add", {"a": 1, "b": 2})
        assert result.structured_content == {"result": 3}


def test_sdk_is_not_imported_by_the_package() -> None:
    import subprocess

    code = "import agentrt.mcp, agentrt.runtime.process, sys; print('mcp' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
