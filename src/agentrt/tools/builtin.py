"""The sandboxed tools: ``code_run``, ``shell_exec``, ``file_write``, ``file_read``.

Each finds its workspace from the step's ``org_id`` and ``session_id``. None of them
decides risk: the runtime's policy does (``code_run``, ``shell_exec`` and ``file_write``
are high-risk by default), so every skill here is declared non-destructive.

``code_run`` and ``shell_exec`` run in the sandbox. The file tools run in-process with
the workspace's path checks (``Workspace``), which open every component without
following symlinks: starting a sandbox to move a few bytes would cost more and protect
no more, and they keep working when the sandbox is unavailable.
"""

from __future__ import annotations

import asyncio
from typing import Any

from agentrt.errors import SkillError
from agentrt.skills._base import FunctionSkill, StepContext
from agentrt.tools.sandbox import Sandbox, SandboxLimits, SandboxResult
from agentrt.tools.workspace import Workspace, Workspaces

PYTHON = "/usr/bin/python3"
SHELL = "/bin/sh"
MAX_SOURCE_CHARS = 100_000
MAX_ARG_BYTES = 120_000
"""Below Linux's 128 KiB limit on one argument (code passed with ``-c``)."""
MAX_STDIN_CHARS = 1_000_000
MAX_PATH_CHARS = 1024

_PATH = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_PATH_CHARS,
    "description": "a path relative to the workspace, e.g. 'data/out.csv'",
}


def _schema(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


def _limits_text(limits: SandboxLimits) -> str:
    return (
        f"no network; only /workspace is writable; limits: {limits.cpu_seconds:g} s CPU, "
        f"{limits.wall_seconds:g} s wall time, {limits.memory_mb} MB memory, {limits.max_processes} processes, "
        f"{limits.max_file_mb} MB per file, {limits.max_output_bytes} bytes of stdout and of stderr kept"
    )


def run_output(result: SandboxResult) -> dict[str, Any]:
    """A sandbox result as the code and shell tools return it; ``limit`` names the limit hit."""
    return {
        "exit_code": result.exit_code,
        "stdout": result.stdout,
        "stderr": result.stderr,
        "timed_out": result.timed_out,
        "output_truncated": result.output_truncated,
        "limit": result.killed_reason,
    }


def sandboxed_tools(
    sandbox: Sandbox,
    workspaces: Workspaces,
    *,
    limits: SandboxLimits | None = None,
) -> list[FunctionSkill]:
    """The four tools, bound to one sandbox and one workspace root."""
    limits = limits or sandbox.default_limits
    max_read = limits.max_output_bytes
    max_write = limits.max_file_mb * 1024 * 1024

    def workspace(ctx: StepContext) -> Workspace:
        return workspaces.for_session(ctx.org_id, ctx.session_id)

    async def code_run(args: dict[str, Any], ctx: StepContext) -> dict[str, Any]:
        code: str = args["code"]
        stdin: str | None = args.get("stdin")
        if stdin is None:
            argv, feed = [PYTHON, "-I", "-"], code
        else:
            # The program reads stdin, so the code comes as an argument.
            if len(code.encode()) > MAX_ARG_BYTES:
                raise SkillError(f"code longer than {MAX_ARG_BYTES} bytes cannot be combined with stdin")
            argv, feed = [PYTHON, "-I", "-c", code], stdin
        space = await asyncio.to_thread(workspace, ctx)
        return run_output(await sandbox.run(argv, space, stdin=feed, limits=limits))

    async def shell_exec(args: dict[str, Any], ctx: StepContext) -> dict[str, Any]:
        command: str = args["command"]
        if len(command.encode()) > MAX_ARG_BYTES:
            raise SkillError(f"command longer than {MAX_ARG_BYTES} bytes")
        space = await asyncio.to_thread(workspace, ctx)
        return run_output(await sandbox.run([SHELL, "-c", command], space, limits=limits))

    def file_write(args: dict[str, Any], ctx: StepContext) -> dict[str, Any]:
        data = args["content"].encode()
        if len(data) > max_write:
            raise SkillError(f"content is {len(data)} bytes; files are limited to {limits.max_file_mb} MB")
        space = workspace(ctx)
        path = space.relative(args["path"])
        return {"path": path, "bytes": space.write_bytes(path, data)}

    def file_read(args: dict[str, Any], ctx: StepContext) -> dict[str, Any]:
        space = workspace(ctx)
        path = space.relative(args["path"])
        data = space.read_bytes(path, max_read + 1)
        return {
            "path": path,
            "content": data[:max_read].decode("utf-8", errors="replace"),
            "truncated": len(data) > max_read,
        }

    described = _limits_text(limits)
    return [
        FunctionSkill(
            name="code_run",
            description=(
                "Run a Python 3 program in an isolated sandbox with the session's workspace as its "
                f"working directory (/workspace); {described}. Use print() for results."
            ),
            fn=code_run,
            input_schema=_schema(
                {
                    "code": {"type": "string", "minLength": 1, "maxLength": MAX_SOURCE_CHARS},
                    "stdin": {"type": "string", "maxLength": MAX_STDIN_CHARS},
                },
                ["code"],
            ),
            output_description=(
                "{exit_code, stdout, stderr, timed_out, output_truncated, limit}; a non-zero exit_code is the "
                "program's failure; limit names the sandbox limit that stopped it, if any"
            ),
            version="1.0.0",
        ),
        FunctionSkill(
            name="shell_exec",
            description=(
                "Run a POSIX shell command (/bin/sh -c) in an isolated sandbox with the session's workspace "
                f"as its working directory (/workspace); {described}."
            ),
            fn=shell_exec,
            input_schema=_schema(
                {"command": {"type": "string", "minLength": 1, "maxLength": MAX_SOURCE_CHARS}}, ["command"]
            ),
            output_description="{exit_code, stdout, stderr, timed_out, output_truncated, limit}",
            version="1.0.0",
        ),
        FunctionSkill(
            name="file_write",
            description=(
                "Create or replace a text file in the session's workspace (missing directories are created); "
                f"at most {limits.max_file_mb} MB."
            ),
            fn=file_write,
            input_schema=_schema({"path": _PATH, "content": {"type": "string"}}, ["path", "content"]),
            output_description="{path, bytes}: the normalised path and the bytes written",
            version="1.0.0",
        ),
        FunctionSkill(
            name="file_read",
            description=(
                f"Read a text file from the session's workspace (the first {max_read} bytes; "
                "invalid UTF-8 is replaced)."
            ),
            fn=file_read,
            input_schema=_schema({"path": _PATH}, ["path"]),
            output_description="{path, content, truncated}",
            version="1.0.0",
        ),
    ]
