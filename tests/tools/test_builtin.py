"""The four tools as the runtime calls them: schemas, outputs, workspaces found from the step's context."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from agentrt.errors import SkillError
from agentrt.skills import FunctionSkill, SkillRegistry
from agentrt.tools import Sandbox, SandboxUnavailableError, WorkspacePathError, Workspaces, sandboxed_tools
from tests.tools.conftest import SMALL, step_context

NAMES = ["code_run", "shell_exec", "file_write", "file_read"]


@pytest.fixture
def tools(sandbox: Sandbox, workspaces: Workspaces) -> dict[str, FunctionSkill]:
    return {tool.name: tool for tool in sandboxed_tools(sandbox, workspaces)}


async def call(tools: dict[str, FunctionSkill], name: str, args: dict[str, Any], **ctx: str) -> Any:
    tool = tools[name]
    jsonschema.validate(args, tool.input_schema)
    return await tool.run(args, step_context(**ctx))


def test_names_schemas_and_no_risk_decision(tmp_path: Any) -> None:
    tools = sandboxed_tools(Sandbox("bwrap"), Workspaces(tmp_path))
    assert [tool.name for tool in tools] == NAMES
    for tool in tools:
        schema = tool.input_schema
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["type"] == "object" and schema["additionalProperties"] is False
        assert tool.destructive is False  # risk is the runtime's policy, not the tool's
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({**dict.fromkeys(schema["required"], "x"), "extra": 1}, schema)
    required = {tool.name: tool.input_schema["required"] for tool in tools}
    assert required == {
        "code_run": ["code"],
        "shell_exec": ["command"],
        "file_write": ["path", "content"],
        "file_read": ["path"],
    }
    assert set(tools[0].input_schema["properties"]) == {"code", "stdin"}
    registry = SkillRegistry(tools)
    assert all(name in registry for name in NAMES)


async def test_code_run(tools: dict[str, FunctionSkill]) -> None:
    output = await call(tools, "code_run", {"code": "import sys\nprint(sum(range(10)))\nsys.exit(0)"})
    assert output == {
        "exit_code": 0,
        "stdout": "45\n",
        "stderr": "",
        "timed_out": False,
        "output_truncated": False,
        "limit": None,
    }
    failing = await call(tools, "code_run", {"code": "raise SystemExit('bad input')"})
    assert failing["exit_code"] == 1 and failing["stderr"] == "bad input\n"
    echoed = await call(tools, "code_run", {"code": "print(input().upper())", "stdin": "shout\n"})
    assert echoed["stdout"] == "SHOUT\n"


async def test_limits_are_named_in_the_output(tools: dict[str, FunctionSkill]) -> None:
    output = await call(tools, "code_run", {"code": "x = bytearray(2**31)"})
    assert output["exit_code"] == 1 and output["limit"] == "memory_mb"
    flood = await call(tools, "shell_exec", {"command": "head -c 20000 /dev/zero | tr '\\0' x"})
    assert flood["output_truncated"] is True and len(flood["stdout"]) == SMALL.max_output_bytes


async def test_shell_exec_and_file_tools_share_the_session_workspace(tools: dict[str, FunctionSkill]) -> None:
    written = await call(tools, "file_write", {"path": "./notes//todo.txt", "content": "buy milk\n"})
    assert written == {"path": "notes/todo.txt", "bytes": 9}
    shell = await call(tools, "shell_exec", {"command": "cat notes/todo.txt; echo done > notes/status.txt; exit 4"})
    assert shell["exit_code"] == 4 and shell["stdout"] == "buy milk\n"
    read = await call(tools, "file_read", {"path": "notes/status.txt"})
    assert read == {"path": "notes/status.txt", "content": "done\n", "truncated": False}
    code = await call(tools, "code_run", {"code": "import os\nprint(sorted(os.listdir('notes')))"})
    assert code["stdout"] == "['status.txt', 'todo.txt']\n"
    # another session of the same org sees none of it
    other = await call(tools, "shell_exec", {"command": "ls -A"}, session_id="sess_2")
    assert other["stdout"] == ""
    with pytest.raises(WorkspacePathError):
        await call(tools, "file_read", {"path": "notes/todo.txt"}, session_id="sess_2")


async def test_file_read_truncates(tools: dict[str, FunctionSkill]) -> None:
    await call(tools, "file_write", {"path": "big.txt", "content": "é" * SMALL.max_output_bytes})
    read = await call(tools, "file_read", {"path": "big.txt"})
    assert read["truncated"] is True
    assert len(read["content"].encode()) <= SMALL.max_output_bytes + 3


@pytest.mark.parametrize("path", ["../../other/sess/x.txt", "/etc/passwd", "a/../../x"])
async def test_file_tools_refuse_escapes(tools: dict[str, FunctionSkill], path: str) -> None:
    with pytest.raises(WorkspacePathError) as caught:
        await call(tools, "file_write", {"path": path, "content": "x"})
    assert caught.value.code == "WORKSPACE_PATH_REFUSED"
    with pytest.raises(WorkspacePathError):
        await call(tools, "file_read", {"path": path})


async def test_a_symlink_planted_by_code_is_refused_by_the_file_tools(tools: dict[str, FunctionSkill]) -> None:
    planted = await call(tools, "shell_exec", {"command": "ln -s /etc/shadow shadow && ln -s / root && echo ok"})
    assert planted["stdout"] == "ok\n"
    for path in ("shadow", "root/etc/shadow"):
        with pytest.raises(WorkspacePathError, match="symlink"):
            await call(tools, "file_read", {"path": path})
        with pytest.raises(WorkspacePathError, match="symlink"):
            await call(tools, "file_write", {"path": path, "content": "x"})


async def test_file_write_size_limit(tools: dict[str, FunctionSkill]) -> None:
    with pytest.raises(SkillError, match="limited to 1 MB"):
        await call(tools, "file_write", {"path": "huge.txt", "content": "x" * (2**20 + 1)})


async def test_unavailable_sandbox_fails_the_step(workspaces: Workspaces, tmp_path: Any) -> None:
    tools = {tool.name: tool for tool in sandboxed_tools(Sandbox("bwrap", search_path=str(tmp_path)), workspaces)}
    with pytest.raises(SandboxUnavailableError):
        await call(tools, "code_run", {"code": "print(1)"})
    with pytest.raises(SandboxUnavailableError):
        await call(tools, "shell_exec", {"command": "true"})
    # the file tools do not need the sandbox
    assert (await call(tools, "file_write", {"path": "a.txt", "content": "x"}))["bytes"] == 1
