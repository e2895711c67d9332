"""Fixtures for the sandbox tests: real bwrap, real subprocesses, small limits."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentrt.context import RuntimeSessionContext
from agentrt.skills import StepContext
from agentrt.tools import SANDBOX_UID, Sandbox, SandboxLimits, Workspaces, sandbox_status

IS_ROOT = os.geteuid() == 0

SMALL = SandboxLimits(
    cpu_seconds=1,
    memory_mb=256,
    wall_seconds=5,
    max_output_bytes=4096,
    max_processes=24,
    max_file_mb=1,
)


def require_bwrap() -> None:
    """Fails under CI=true when bwrap cannot sandbox here; skips with the reason otherwise."""
    status = sandbox_status("bwrap")
    if status.available:
        return
    message = str(status.reason)
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message + " (the tests fail instead when CI=true)")


@pytest.fixture
def sandbox() -> Sandbox:
    require_bwrap()
    return Sandbox("bwrap", default_limits=SMALL)


@pytest.fixture
def workspace_root() -> Iterator[Path]:
    """A root the sandbox uid can reach (pytest's tmp_path sits under a 0700 directory)."""
    root = Path(tempfile.mkdtemp(prefix="agentrt-ws-test-"))
    os.chmod(root, 0o711)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def workspaces(workspace_root: Path) -> Workspaces:
    return Workspaces(workspace_root / "workspaces")


def step_context(org_id: str = "org_1", session_id: str = "sess_1") -> StepContext:
    runtime_context = RuntimeSessionContext.model_validate(
        {
            "org_id": org_id,
            "user_id": "user_1",
            "agent_id": "agent_1",
            "session_id": session_id,
            "agent_config": {"id": "agent_1", "name": "tester"},
        }
    )
    return StepContext(run_id="run_1", step_id="s1", runtime_context=runtime_context)


def sandbox_uid_processes() -> set[int]:
    """Live or zombie processes of the sandbox uid (when the server is root)."""
    found: set[int] = set()
    uid = SANDBOX_UID if IS_ROOT else os.geteuid()
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    found.add(int(entry.name))
            except OSError:
                pass
    return found
