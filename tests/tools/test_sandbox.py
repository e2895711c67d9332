"""The sandbox against real programs: each limit bites, nothing of the host leaks in, it fails closed."""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import logging
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentrt.tools import (
    SANDBOX_UID,
    Sandbox,
    SandboxLimits,
    SandboxUnavailableError,
    Workspace,
    Workspaces,
    sandbox_status,
)
from agentrt.tools import sandbox as sandbox_module
from tests.tools.conftest import IS_ROOT, SMALL, require_bwrap, sandbox_uid_processes

PY = "/usr/bin/python3"
SECRET = "agentrt-test-secret-5f1c9e"


@pytest.fixture
def space(workspaces: Workspaces) -> Workspace:
    return workspaces.for_session("org_1", "sess_1")


async def python(sandbox: Sandbox, space: Workspace, code: str, **limits: Any) -> sandbox_module.SandboxResult:
    return await sandbox.run([PY, "-I", "-"], space, stdin=code, limits=dataclasses.replace(SMALL, **limits))


async def no_leftovers(before: set[int]) -> None:
    """Every process the run started is gone, zombies included (none was orphaned to init)."""
    deadline = time.monotonic() + 2
    while (left := sandbox_uid_processes() - before) and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    assert not left, f"processes left behind: {sorted(left)}"


def test_status_reports_bwrap() -> None:
    require_bwrap()
    status = sandbox_status("bwrap")
    assert status.mode == "bwrap" and status.available and status.reason is None
    assert status.bwrap and status.prlimit and status.bwrap_version
    assert status.uid == (SANDBOX_UID if IS_ROOT else os.geteuid())
    assert status.to_dict()["available"] is True


async def test_a_normal_program_runs_and_its_files_appear(sandbox: Sandbox, space: Workspace) -> None:
    code = (
        "import os, pathlib\n"
        "pathlib.Path('results').mkdir()\n"
        "pathlib.Path('results/answer.txt').write_text(str(6 * 7))\n"
        "print(os.getcwd(), os.getuid(), open('results/answer.txt').read())\n"
    )
    result = await python(sandbox, space, code)
    assert (result.exit_code, result.timed_out, result.output_truncated, result.killed_reason) == (
        0,
        False,
        False,
        None,
    )
    uid = SANDBOX_UID if IS_ROOT else os.geteuid()
    assert result.stdout == f"/workspace {uid} 42\n"
    assert result.stderr == ""
    assert space.read_bytes("results/answer.txt", 10) == b"42"
    assert [item.path for item in space.list_files()] == ["results/answer.txt"]


async def test_stdin_and_exit_codes(sandbox: Sandbox, space: Workspace) -> None:
    result = await sandbox.run(["/bin/sh", "-c", "read line; echo got $line; echo oops >&2; exit 3"], space, stdin="hi")
    assert (result.exit_code, result.stdout, result.stderr) == (3, "got hi\n", "oops\n")
    assert result.killed_reason is None
    missing = await sandbox.run(["/usr/bin/definitely-not-here"], space)
    assert missing.exit_code == 127 and "not found" in missing.stderr


async def test_endless_loop_is_stopped_by_the_cpu_limit(sandbox: Sandbox, space: Workspace) -> None:
    started = time.monotonic()
    result = await python(sandbox, space, "while True: pass", cpu_seconds=1, wall_seconds=10)
    assert result.killed_reason == "cpu_seconds"
    assert result.exit_code == 128 + 24  # SIGXCPU
    assert not result.timed_out
    assert time.monotonic() - started < 8


async def test_wall_limit_kills_the_whole_sandbox(sandbox: Sandbox, space: Workspace) -> None:
    before = sandbox_uid_processes()
    started = time.monotonic()
    result = await sandbox.run(
        ["/bin/sh", "-c", "sleep 60 & sleep 60 & echo started; sleep 60"],
        space,
        limits=dataclasses.replace(SMALL, wall_seconds=1),
    )
    assert time.monotonic() - started < 4
    assert result.timed_out and result.killed_reason == "wall_seconds"
    assert result.exit_code == 137
    assert result.stdout == "started\n"
    await no_leftovers(before)


async def test_memory_bomb_is_stopped(sandbox: Sandbox, space: Workspace) -> None:
    result = await python(sandbox, space, "blocks = []\nwhile True:\n    blocks.append(bytearray(16 * 2**20))\n")
    assert result.exit_code != 0
    assert "MemoryError" in result.stderr
    assert result.killed_reason == "memory_mb"
    single = await python(sandbox, space, "x = bytearray(2**30)", memory_mb=128)
    assert "MemoryError" in single.stderr and single.killed_reason == "memory_mb"


async def test_tmpfs_is_bounded_by_the_memory_limit(sandbox: Sandbox, space: Workspace) -> None:
    code = (
        "import os\nwith open('/tmp/fill', 'wb') as f:\n    for _ in range(64):\n        f.write(os.urandom(2**20))\n"
    )
    result = await python(sandbox, space, code, memory_mb=32, max_file_mb=100)
    assert result.exit_code != 0
    assert "No space left on device" in result.stderr


async def test_fork_bomb_is_stopped(sandbox: Sandbox, space: Workspace) -> None:
    before = sandbox_uid_processes()
    count = await python(
        sandbox,
        space,
        "import os, time\nn = 0\ntry:\n    while True:\n        if os.fork() == 0:\n            time.sleep(30)\n"
        "            os._exit(0)\n        n += 1\nexcept OSError as exc:\n    print(n, exc.errno)\n",
        max_processes=12,
    )
    forked, err = map(int, count.stdout.split())
    assert err == errno.EAGAIN
    assert forked < 12
    await no_leftovers(before)

    started = time.monotonic()
    bomb = await sandbox.run(
        ["/bin/sh", "-c", "bomb() { bomb | bomb & }; bomb; sleep 30"],
        space,
        limits=dataclasses.replace(SMALL, max_processes=16, wall_seconds=1),
    )
    assert time.monotonic() - started < 5
    assert bomb.killed_reason in ("max_processes", "wall_seconds")
    assert "fork" in bomb.stderr.lower()
    await no_leftovers(before)


async def test_file_size_limit(sandbox: Sandbox, space: Workspace) -> None:
    result = await python(sandbox, space, "open('big.bin', 'wb').write(b'x' * 3 * 2**20)", max_file_mb=1)
    assert result.exit_code != 0
    assert result.killed_reason == "max_file_mb"
    assert [(item.path, item.size) for item in space.list_files()] == [("big.bin", 2**20)]


async def test_output_is_capped(sandbox: Sandbox, space: Workspace) -> None:
    result = await python(
        sandbox,
        space,
        "import sys\nprint('o' * 10000)\nsys.stderr.write('e' * 10000)\nprint('done')",
        max_output_bytes=1000,
    )
    assert result.exit_code == 0
    assert result.output_truncated
    assert result.stdout == "o" * 1000
    assert result.stderr == "e" * 1000
    assert result.killed_reason is None

    started = time.monotonic()
    flood = await sandbox.run(["/usr/bin/yes"], space, limits=dataclasses.replace(SMALL, max_output_bytes=1000))
    assert time.monotonic() - started < 3
    assert flood.output_truncated and flood.killed_reason == "max_output_bytes"
    assert len(flood.stdout) == 1000


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    server = socket.create_server(("127.0.0.1", 0))
    server.setblocking(False)
    try:
        yield server
    finally:
        server.close()


async def test_no_network(sandbox: Sandbox, space: Workspace, listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    with socket.create_connection(("127.0.0.1", port), timeout=2):  # reachable from the host
        pass
    listener.accept()[0].close()
    code = (
        "import socket\n"
        f"for address in [('127.0.0.1', {port}), ('1.1.1.1', 53), ('10.0.0.1', 80)]:\n"
        "    try:\n"
        "        socket.create_connection(address, timeout=3)\n"
        "        print(address, 'CONNECTED')\n"
        "    except OSError as exc:\n"
        "        print(address, exc.errno)\n"
        "print(sorted(line.split(':')[0].strip() for line in open('/proc/net/dev').readlines()[2:]))\n"
    )
    result = await python(sandbox, space, code)
    assert "CONNECTED" not in result.stdout
    lines = result.stdout.splitlines()
    assert lines[0] == f"('127.0.0.1', {port}) {errno.ECONNREFUSED}"  # the sandbox's own, empty loopback
    assert lines[1] == f"('1.1.1.1', 53) {errno.ENETUNREACH}"
    assert lines[2] == f"('10.0.0.1', 80) {errno.ENETUNREACH}"
    assert lines[3] == "['lo']"
    with pytest.raises(BlockingIOError):
        listener.accept()


async def test_host_files_are_out_of_reach(sandbox: Sandbox, space: Workspace) -> None:
    script = (
        "cat /etc/shadow; echo shadow=$?; "
        "ls /root /home /work /var 2>/dev/null; echo dirs=$?; "
        "touch /usr/x /etc/x /x /dev/x 2>/dev/null; echo ro=$?; "
        "touch /tmp/x /dev/shm/x && echo scratch=ok; "
        "ls /proc | grep -c '^[0-9]'; "
        "id -un"
    )
    result = await sandbox.run(["/bin/sh", "-c", script], space)
    out = result.stdout.splitlines()
    assert "shadow=1" in out and "dirs=2" in out and "ro=1" in out and "scratch=ok" in out
    assert int(out[-2]) <= 5  # only the sandbox's own processes
    assert out[-1] == "nobody" or not IS_ROOT


async def test_server_environment_is_not_visible(
    sandbox: Sandbox, space: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTRT_TEST_SECRET", SECRET)
    assert os.environ["AGENTRT_TEST_SECRET"] == SECRET
    result = await sandbox.run(
        ["/bin/sh", "-c", "env; cat /proc/[0-9]*/environ /proc/[0-9]*/cmdline | tr '\\0' '\\n'"], space
    )
    assert result.exit_code == 0
    assert SECRET not in result.stdout + result.stderr
    assert "AGENTRT" not in result.stdout
    environ = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line and line.isascii())
    assert environ["HOME"] == "/workspace" and environ["PATH"] == "/usr/bin:/bin"


async def test_workspace_symlink_does_not_reach_outside_from_inside(
    sandbox: Sandbox, space: Workspace, workspace_root: Path
) -> None:
    (workspace_root / "host-secret.txt").write_text(SECRET)
    os.chmod(workspace_root / "host-secret.txt", 0o644)
    (space.path / "link").symlink_to(workspace_root / "host-secret.txt")
    result = await sandbox.run(["/bin/sh", "-c", "cat link; cat ../../host-secret.txt"], space)
    assert SECRET not in result.stdout
    assert result.exit_code != 0


async def test_cancelling_a_run_kills_it(sandbox: Sandbox, space: Workspace) -> None:
    before = sandbox_uid_processes()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.5):
            await sandbox.run(["/bin/sh", "-c", "sleep 60 & sleep 60"], space)
    await no_leftovers(before)


async def test_concurrent_runs(sandbox: Sandbox, workspaces: Workspaces) -> None:
    spaces = [workspaces.for_session("org_1", f"sess_{i}") for i in range(3)]
    results = await asyncio.gather(
        *(sandbox.run(["/bin/sh", "-c", f"echo {i} > n.txt; ls"], space) for i, space in enumerate(spaces))
    )
    for i, (space, result) in enumerate(zip(spaces, results, strict=True)):
        assert result.stdout == "n.txt\n"  # each sees its own workspace only
        assert space.read_bytes("n.txt", 10) == f"{i}\n".encode()


async def test_missing_bwrap_fails_closed(space: Workspace, tmp_path: Path) -> None:
    sandbox = Sandbox("bwrap", search_path=str(tmp_path))
    assert not sandbox.status().available
    with pytest.raises(SandboxUnavailableError) as caught:
        await sandbox.run(["/bin/true"], space)
    assert caught.value.code == "SANDBOX_UNAVAILABLE"
    assert "bubblewrap" in caught.value.message and "AGENTRT_SANDBOX=unconfined" in caught.value.message


async def test_unknown_mode_fails_closed(space: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTRT_SANDBOX", "none")
    sandbox = Sandbox()
    assert sandbox.mode == "none" and not sandbox.status().available
    with pytest.raises(SandboxUnavailableError, match="unknown AGENTRT_SANDBOX value 'none'"):
        await sandbox.run(["/bin/true"], space)


@pytest.mark.skipif(not IS_ROOT, reason="the uid drop happens only when the server is root")
async def test_a_sandbox_that_cannot_start_fails_closed(sandbox: Sandbox, workspace_root: Path) -> None:
    hidden = workspace_root / "private"
    hidden.mkdir(mode=0o700)
    space = Workspaces(hidden / "workspaces").for_session("org_1", "sess_1")
    with pytest.raises(SandboxUnavailableError, match=r"failed to start.*searchable by uid 65534"):
        await sandbox.run(["/bin/true"], space)


async def test_unconfined_mode_warns_once_and_keeps_limits(
    space: Workspace, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("AGENTRT_SANDBOX", "unconfined")
    monkeypatch.setenv("AGENTRT_TEST_SECRET", SECRET)
    monkeypatch.setattr(sandbox_module, "_warned_unconfined", False)
    with caplog.at_level(logging.WARNING, logger="agentrt.tools.sandbox"):
        sandbox = Sandbox(default_limits=SMALL)
        Sandbox(default_limits=SMALL)
    warnings = [record for record in caplog.records if "WITHOUT isolation" in record.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    status = sandbox.status()
    assert status.mode == "unconfined" and status.available and status.bwrap is None

    result = await sandbox.run(["/bin/sh", "-c", "env; pwd; echo hi > made.txt"], space)
    assert result.exit_code == 0
    assert SECRET not in result.stdout
    assert f"HOME={space.path}" in result.stdout and str(space.path) in result.stdout.splitlines()
    assert space.read_bytes("made.txt", 10) == b"hi\n"
    loop = await sandbox.run([PY, "-I", "-c", "while True: pass"], space)
    assert loop.killed_reason == "cpu_seconds"
    if IS_ROOT:
        shadow = await sandbox.run(["/bin/cat", "/etc/shadow"], space)
        assert shadow.exit_code == 1 and "Permission denied" in shadow.stderr


def test_limits_are_validated() -> None:
    assert SandboxLimits() == SandboxLimits(10, 512, 30, 64 * 1024, 64, 50)
    with pytest.raises(ValueError, match="memory_mb"):
        SandboxLimits(memory_mb=0)
