"""Uploaded code skills, run in the sandbox rather than in the server.

An organisation's uploaded code is untrusted: it runs like ``code_run``, in the calling
session's workspace, under bubblewrap, with the package mounted read-only at ``/skill``.
The entry point is called with ``(args)`` or ``(args, ctx)`` — ``ctx`` a dict with
``run_id``, ``step_id``, ``org_id``, ``user_id`` and ``session_id`` — and must return
something JSON can hold. Only the standard library of the system's Python is there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentrt.errors import SkillError
from agentrt.skills._base import StepContext
from agentrt.tools.sandbox import Sandbox, SandboxLimits
from agentrt.tools.workspace import Workspaces

SKILL_MOUNT = "/skill"
RESULT_MARKER = "\n@@agentrt-result@@"
SYSTEM_PYTHON = "/usr/bin/python3"

_RUNNER = """
import asyncio, importlib.util, inspect, json, sys
root, entry, name, marker = sys.argv[1:5]
request = json.loads(sys.stdin.read())
sys.path.insert(0, root)
spec = importlib.util.spec_from_file_location("agentrt_skill", root + "/" + entry)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
fn = getattr(module, name)
call = (request["args"], request["ctx"]) if len(inspect.signature(fn).parameters) >= 2 else (request["args"],)
result = asyncio.run(fn(*call)) if inspect.iscoroutinefunction(fn) else fn(*call)
sys.stdout.write(marker + json.dumps(result, default=str))
"""


@dataclass(frozen=True)
class PackageSkill:
    """A ``Skill`` whose code is an uploaded package, run in the sandbox."""

    name: str
    description: str
    version: str
    root: Path
    entry_point: str
    sandbox: Sandbox = field(repr=False)
    workspaces: Workspaces = field(repr=False)
    input_schema: dict[str, Any] = field(default_factory=lambda: {"type": "object"})
    output_description: str = "the skill's result"
    destructive: bool = False
    limits: SandboxLimits | None = None

    async def run(self, args: dict[str, Any], ctx: StepContext) -> Any:
        file, _, function = self.entry_point.partition(":")
        bwrap = self.sandbox.status().mode == "bwrap"
        root = SKILL_MOUNT if bwrap else str(self.root)
        request = {
            "args": args,
            "ctx": {
                "run_id": ctx.run_id,
                "step_id": ctx.step_id,
                "org_id": ctx.org_id,
                "user_id": ctx.user_id,
                "session_id": ctx.session_id,
            },
        }
        result = await self.sandbox.run(
            [SYSTEM_PYTHON, "-I", "-c", _RUNNER, root, file, function, RESULT_MARKER],
            self.workspaces.for_session(ctx.org_id, ctx.session_id),
            stdin=json.dumps(request, default=str),
            limits=self.limits,
            ro_binds=[(str(self.root), SKILL_MOUNT)] if bwrap else (),
        )
        if result.timed_out or result.exit_code != 0 or RESULT_MARKER not in result.stdout:
            detail = (result.stderr or result.stdout).strip().splitlines()[-3:]
            reason = result.killed_reason or ("timed out" if result.timed_out else f"exit code {result.exit_code}")
            raise SkillError(f"skill {self.name} {self.version} failed ({reason}): {' | '.join(detail)}")
        return json.loads(result.stdout.rsplit(RESULT_MARKER, 1)[1])
