"""The process protocol: how the seed's TypeScript API drives the runtime.

One-shot (``python -m agentrt.runtime``): one JSON request on stdin; each event as a
JSON line on stdout while the run goes; then ``{"success": true, "result": …}`` as the
last line and exit 0 — or ``{"success": false, "error": {"code", "message"}}``, a
readable reason on stderr and a non-zero exit (1: the run failed, 2: bad input).

Persistent (``--serve``): one request per stdin line, each with an ``id``; every output
line carries that ``id``: ``{"id", "event": …}`` while it runs, then
``{"id", "success", "result" | "error"}``. Requests run concurrently.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TextIO

from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from agentrt.context import RuntimeSessionContext
from agentrt.errors import AgentrtError, InvalidInputError
from agentrt.events import RunEvent
from agentrt.mcp.capabilities import McpCapabilitySource
from agentrt.mcp.pins import JsonFilePinStore
from agentrt.mcp.pool import McpPool
from agentrt.runtime.approvals import Decision
from agentrt.runtime.runner import AgentRuntime, RunResult, checkpoint_serializer
from agentrt.skills.registry import SkillRegistry
from agentrt.tools import Sandbox, Workspaces, sandboxed_tools

EXIT_OK, EXIT_RUN_FAILED, EXIT_BAD_INPUT = 0, 1, 2
DEFAULT_CHECKPOINT_DB = "./data/checkpoints.sqlite"
DEFAULT_MCP_PINS = "./data/mcp-pins.json"


class ResumeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    run_id: str
    decisions: list[Decision] = Field(min_length=1)


class ProcessRequest(BaseModel):
    """One request: ``user_message`` starts a turn, ``resume`` continues a paused one."""

    model_config = ConfigDict(extra="forbid")

    id: str | int | None = None
    runtime_context: RuntimeSessionContext
    user_message: str | None = None
    resume: ResumeRequest | None = None
    run_id: str | None = None

    @model_validator(mode="after")
    def _one_action(self) -> ProcessRequest:
        if (self.user_message is None) == (self.resume is None):
            raise ValueError("give exactly one of user_message or resume")
        return self


def _field_errors(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "request"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def parse_request(text: str) -> ProcessRequest:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"input is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidInputError("input must be a JSON object")
    try:
        return ProcessRequest.model_validate(data)
    except ValidationError as exc:
        raise InvalidInputError(f"invalid request: {_field_errors(exc)}") from None


def checkpoint_path() -> str:
    path = os.environ.get("AGENTRT_CHECKPOINT_DB") or DEFAULT_CHECKPOINT_DB
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return path


def default_services() -> dict[str, Any]:
    registry = SkillRegistry.with_builtins()
    # The sandboxed tools (workspaces under AGENTRT_WORKSPACE_DIR); capabilities only when a
    # context binds them in available_tools.
    for tool in sandboxed_tools(Sandbox(), Workspaces()):
        registry.register(tool)
    skills_dir = os.environ.get("AGENTRT_SKILLS_DIR")
    if skills_dir:
        registry.load_dir(Path(skills_dir))
    # One MCP connection pool per process; tool definitions pinned in AGENTRT_MCP_PINS.
    pool = McpPool()
    pins = JsonFilePinStore(os.environ.get("AGENTRT_MCP_PINS") or DEFAULT_MCP_PINS)
    return {"skill_registry": registry, "mcp_pool": pool, "capability_sources": [McpCapabilitySource(pool, pins)]}


@contextlib.asynccontextmanager
async def open_runtime() -> AsyncIterator[AgentRuntime]:
    services = default_services()
    try:
        async with AsyncSqliteSaver.from_conn_string(checkpoint_path()) as saver:
            saver.serde = checkpoint_serializer()
            yield AgentRuntime(saver, services)
    finally:
        await services["mcp_pool"].close()


async def handle(runtime: AgentRuntime, request: ProcessRequest, sink: Callable[[RunEvent], Any]) -> RunResult:
    async def emit(event: RunEvent) -> None:
        sink(event)

    if request.resume is not None:
        return await runtime.resume(request.runtime_context, request.resume.run_id, request.resume.decisions, sink=emit)
    assert request.user_message is not None
    return await runtime.start(request.runtime_context, request.user_message, sink=emit, run_id=request.run_id)


def _write(out: TextIO, payload: dict[str, Any]) -> None:
    out.write(json.dumps(payload, ensure_ascii=False, default=str) + "\n")
    out.flush()


def _final(result: RunResult) -> dict[str, Any]:
    if result.status == "failed":
        error = result.error or {"code": "RUN_FAILED", "message": "the run failed"}
        return {"success": False, "error": error, "result": result.to_dict()}
    return {"success": True, "result": result.to_dict()}


async def run_once(stdin_text: str, out: TextIO, err: TextIO) -> int:
    try:
        request = parse_request(stdin_text)
    except AgentrtError as exc:
        _write(out, {"success": False, "error": exc.to_dict()})
        err.write(f"agentrt: {exc.message}\n")
        return EXIT_BAD_INPUT
    try:
        async with open_runtime() as runtime:
            result = await handle(runtime, request, lambda event: _write(out, dict(event)))
    except AgentrtError as exc:
        _write(out, {"success": False, "error": exc.to_dict()})
        err.write(f"agentrt: {exc.message}\n")
        return EXIT_BAD_INPUT if isinstance(exc, InvalidInputError) else EXIT_RUN_FAILED
    final = _final(result)
    _write(out, final)
    if not final["success"]:
        err.write(f"agentrt: run {result.run_id} failed: {final['error']['message']}\n")
        return EXIT_RUN_FAILED
    return EXIT_OK


async def _stdin_lines() -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=16 * 1024 * 1024)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        yield line.decode()


async def serve(lines: AsyncIterator[str], out: TextIO, err: TextIO) -> int:
    """Persistent mode: requests run concurrently; every line is tagged with its id."""
    async with open_runtime() as runtime:
        tasks: set[asyncio.Task[None]] = set()

        async def one(line: str) -> None:
            request_id: Any = None
            try:
                request = parse_request(line)
                request_id = request.id
                result = await handle(
                    runtime, request, lambda event: _write(out, {"id": request_id, "event": dict(event)})
                )
                _write(out, {"id": request_id, **_final(result)})
            except AgentrtError as exc:
                _write(out, {"id": request_id, "success": False, "error": exc.to_dict()})
                err.write(f"agentrt: request {request_id}: {exc.message}\n")

        async for line in lines:
            if not line.strip():
                continue
            task = asyncio.create_task(one(line))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.gather(*tasks)
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m agentrt.runtime", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--serve", action="store_true", help="persistent mode: one request per stdin line")
    args = parser.parse_args(argv)
    if args.serve:
        return asyncio.run(serve(_stdin_lines(), sys.stdout, sys.stderr))
    return asyncio.run(run_once(sys.stdin.read(), sys.stdout, sys.stderr))
