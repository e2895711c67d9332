"""Running untrusted programs: bubblewrap namespaces, an unprivileged uid, rlimits, a wall clock.

A run is one asyncio subprocess chain::

    setpriv --reuid=65534 --regid=65534 --clear-groups --no-new-privs --   (only when the server is root)
      prlimit --cpu --as --nproc --fsize --core=0 --nofile --
        bwrap --unshare-all --unshare-user --disable-userns --die-with-parent --new-session --as-pid-1
              <read-only /usr and a few /etc files> --proc /proc --dev /dev --tmpfs /tmp
              --bind <workspace> /workspace --remount-ro / --chdir /workspace --clearenv ...
          /bin/sh -c 'printf "\\000" && "$@"' agentrt-sandbox <argv>

The little ``sh`` launcher is PID 1 of the sandbox: it writes one NUL byte to stdout
(proof that the sandbox was set up; bwrap's own failures never reach stdout) and runs
the program as its child, so the program keeps ordinary signal semantics. When the
program exits, the launcher exits, and the kernel kills everything left in the PID
namespace. ``docs/sandbox.md`` says what this enforces and what it does not.

``AGENTRT_SANDBOX=unconfined`` runs the program without bwrap (same uid drop and limits
where the tools exist), after a WARNING logged once.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import glob
import logging
import math
import os
import re
import resource
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from agentrt.errors import SkillError
from agentrt.tools.workspace import SANDBOX_GID, SANDBOX_UID, Workspace

logger = logging.getLogger(__name__)

SANDBOX_ENV = "AGENTRT_SANDBOX"
SandboxMode = Literal["bwrap", "unconfined"]
MODES: tuple[SandboxMode, ...] = ("bwrap", "unconfined")
DEFAULT_MODE: SandboxMode = "bwrap"

TOOL_SEARCH_PATH = "/usr/bin:/bin:/usr/sbin:/sbin:/usr/local/bin"
"""Where bwrap, setpriv and prlimit are looked for; never the server's own ``PATH``."""
SANDBOX_PATH = "/usr/bin:/bin"
SANDBOX_WORKDIR = "/workspace"
SANDBOX_HOSTNAME = "sandbox"
MAX_OPEN_FILES = 1024
RUNAWAY_OUTPUT_FACTOR = 16
"""A program that writes more than this many times ``max_output_bytes`` past the cap is killed."""
SHM_MAX_MB = 64
PROBE_TIMEOUT_SECONDS = 15.0
_READ_CHUNK = 65536
_DRAIN_SECONDS = 2.0
_KILL_GRACE_SECONDS = 1.0
_STARTED = b"\x00"
_LAUNCHER = {
    # PID 1 of the sandbox: the program runs as its child, and dies with it.
    "bwrap": 'printf "\\000" && "$@"',
    "unconfined": 'printf "\\000" && exec "$@"',
}
_LAUNCHER_NAME = "agentrt-sandbox"

# /etc stays empty but for these (those that exist): what the dynamic loader, Python
# and the shell use. /etc/passwd, /etc/group and /etc/hosts are written fresh (below).
_ETC_FILES = (
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "nsswitch.conf",
    "alternatives",
    "mime.types",
    "os-release",
    "debian_version",
)
_ETC_GLOBS = ("python3*",)
# Top-level system directories: mirrored as symlinks when the host has merged /usr.
_SYSTEM_DIRS = ("/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32")


class SandboxUnavailableError(SkillError):
    """The sandbox cannot run a program here (missing tools, broken setup): nothing ran."""

    code = "SANDBOX_UNAVAILABLE"


@dataclass(frozen=True, slots=True)
class SandboxLimits:
    cpu_seconds: float = 10
    """CPU time per process (RLIMIT_CPU): SIGXCPU at the limit, SIGKILL a second later."""
    memory_mb: int = 512
    """Address space per process (RLIMIT_AS); also the size of the sandbox's /tmp."""
    wall_seconds: float = 30
    """Real time for the whole run; then every process of the run is killed."""
    max_output_bytes: int = 64 * 1024
    """Kept of each of stdout and stderr; the rest is dropped (``output_truncated``)."""
    max_processes: int = 64
    """RLIMIT_NPROC of the sandbox uid; the sandbox's own two helper processes count."""
    max_file_mb: int = 50
    """Largest file a program may write (RLIMIT_FSIZE)."""

    def __post_init__(self) -> None:
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"SandboxLimits.{item.name} must be a positive number, not {value!r}")


@dataclass(frozen=True, slots=True)
class SandboxResult:
    exit_code: int
    """The program's exit status; 128 + N when a signal N ended it (137: killed)."""
    stdout: str
    stderr: str
    timed_out: bool
    output_truncated: bool
    killed_reason: str | None = None
    """The limit that stopped the program, named as in ``SandboxLimits``: ``wall_seconds``,
    ``cpu_seconds``, ``max_output_bytes`` and ``max_file_mb`` are certain; ``memory_mb``
    and ``max_processes`` (which make a call fail rather than kill) are read from the
    program's error output."""


@dataclass(frozen=True, slots=True)
class SandboxStatus:
    mode: str
    available: bool
    reason: str | None = None
    """Why the sandbox is unavailable, or what weakens it (unconfined)."""
    uid: int | None = None
    """The uid programs run as."""
    bwrap: str | None = None
    setpriv: str | None = None
    prlimit: str | None = None
    bwrap_version: str | None = None
    features: tuple[str, ...] = ()
    """Optional bwrap flags this bwrap supports and the sandbox uses."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# -- probing -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Plan:
    """What the probe found: how every run builds its command."""

    status: SandboxStatus
    drop_privileges: bool
    etc_binds: tuple[str, ...] = ()
    system_dirs: tuple[tuple[str, str | None], ...] = ()
    """``(path, symlink target)``; a ``None`` target is bound read-only."""


def _which(name: str, search_path: str) -> str | None:
    return shutil.which(name, path=search_path)


def _system_layout() -> tuple[tuple[str, str | None], ...]:
    layout: list[tuple[str, str | None]] = []
    for path in _SYSTEM_DIRS:
        if os.path.islink(path):
            layout.append((path, os.readlink(path)))
        elif os.path.isdir(path):
            layout.append((path, None))
    return tuple(layout)


def _etc_binds() -> tuple[str, ...]:
    found = [f"/etc/{name}" for name in _ETC_FILES if os.path.lexists(f"/etc/{name}")]
    for pattern in _ETC_GLOBS:
        found.extend(sorted(glob.glob(f"/etc/{pattern}")))
    return tuple(found)


def _mode_from_env(mode: str | None) -> str:
    return (mode or os.environ.get(SANDBOX_ENV) or DEFAULT_MODE).strip().lower()


@functools.lru_cache(maxsize=16)
def _probe(mode: str, search_path: str) -> _Plan:
    root = os.geteuid() == 0
    setpriv = _which("setpriv", search_path)
    prlimit = _which("prlimit", search_path)
    if mode not in MODES:
        reason = f"unknown {SANDBOX_ENV} value {mode!r}: use 'bwrap' (the default) or 'unconfined'"
        return _Plan(SandboxStatus(mode, False, reason, setpriv=setpriv, prlimit=prlimit), root)
    uid = SANDBOX_UID if root and setpriv else os.geteuid()
    if mode == "unconfined":
        weaknesses = ["no namespaces: the program sees the host's files, processes and network"]
        if root and not setpriv:
            weaknesses.append("setpriv not found: programs run as root")
        if not prlimit:
            weaknesses.append("prlimit not found: no CPU, memory, process or file-size limits")
        status = SandboxStatus(mode, True, "; ".join(weaknesses), uid, None, setpriv, prlimit)
        return _Plan(status, root and setpriv is not None)

    bwrap = _which("bwrap", search_path)
    missing = [
        f"{tool} ({package})"
        for tool, package, path, needed in (
            ("bwrap", "bubblewrap", bwrap, True),
            ("setpriv", "util-linux", setpriv, root),
            ("prlimit", "util-linux", prlimit, True),
        )
        if needed and path is None
    ]
    if missing:
        reason = (
            f"sandbox unavailable: {', '.join(missing)} not found in {search_path}; install it "
            f"(e.g. apt-get install bubblewrap util-linux) or set {SANDBOX_ENV}=unconfined to run "
            "tools without isolation"
        )
        return _Plan(SandboxStatus(mode, False, reason, uid, bwrap, setpriv, prlimit), root)
    assert bwrap is not None
    try:
        env = {"PATH": SANDBOX_PATH}
        version = subprocess.run(
            [bwrap, "--version"], capture_output=True, text=True, timeout=PROBE_TIMEOUT_SECONDS, env=env
        ).stdout.strip()
        usage = subprocess.run(
            [bwrap, "--help"], capture_output=True, text=True, timeout=PROBE_TIMEOUT_SECONDS, env=env
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        reason = f"sandbox unavailable: cannot run {bwrap}: {exc}"
        return _Plan(SandboxStatus(mode, False, reason, uid, bwrap, setpriv, prlimit), root)
    required = ("--as-pid-1", "--die-with-parent", "--new-session", "--ro-bind-data", "--remount-ro", "--clearenv")
    lacking = [flag for flag in required if flag not in usage]
    if lacking:
        reason = f"sandbox unavailable: {bwrap} ({version}) lacks {', '.join(lacking)}; install a newer bubblewrap"
        return _Plan(SandboxStatus(mode, False, reason, uid, bwrap, setpriv, prlimit, version), root)
    features = [flag for flag in ("--disable-userns", "--size") if flag in usage]
    plan = _Plan(
        SandboxStatus(mode, True, None, uid, bwrap, setpriv, prlimit, version, tuple(features)),
        root,
        _etc_binds(),
        _system_layout(),
    )
    failure = _trial_run(plan, uid)
    if failure:
        reason = f"sandbox unavailable: a trial run failed: {failure}"
        return dataclasses.replace(plan, status=dataclasses.replace(plan.status, available=False, reason=reason))
    return plan


def _trial_run(plan: _Plan, uid: int) -> str | None:
    """Runs ``id -u`` in a throwaway workspace; the failure, if any, in words."""
    workdir = tempfile.mkdtemp(prefix="agentrt-sandbox-probe-")
    data_fds: list[int] = []
    try:
        if plan.drop_privileges:
            os.chown(workdir, SANDBOX_UID, SANDBOX_GID)
        data_fds = _etc_data_fds()
        command = _command(plan, ["/usr/bin/id", "-u"], Path(workdir), SandboxLimits(), data_fds)
        try:
            done = subprocess.run(
                command,
                capture_output=True,
                timeout=PROBE_TIMEOUT_SECONDS,
                env=_host_env(),
                cwd=workdir,
                pass_fds=data_fds,
                start_new_session=True,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            return str(exc)
        stdout, stderr = done.stdout, done.stderr.decode(errors="replace").strip()
        if not stdout.startswith(_STARTED):
            return stderr or f"exit status {done.returncode}, no output"
        seen = stdout[1:].decode(errors="replace").strip()
        if done.returncode != 0 or seen != str(uid):
            return f"expected uid {uid}, got {seen!r} (exit status {done.returncode}) {stderr}".strip()
        return None
    finally:
        for fd in data_fds:
            os.close(fd)
        shutil.rmtree(workdir, ignore_errors=True)


def sandbox_status(mode: str | None = None, *, search_path: str = TOOL_SEARCH_PATH) -> SandboxStatus:
    """Whether programs can run sandboxed here, probed once per process (and mode)."""
    return _probe(_mode_from_env(mode), search_path).status


# -- the command --------------------------------------------------------------------------


def _host_env() -> dict[str, str]:
    """The environment of setpriv/prlimit/bwrap: nothing of the server's, since a sandboxed
    program could read bwrap's through /proc."""
    return {"PATH": SANDBOX_PATH, "LANG": "C.UTF-8"}


def _memfd(name: str, content: str) -> int:
    fd = os.memfd_create(name, os.MFD_CLOEXEC)
    os.write(fd, content.encode())
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


_ETC_DATA = {
    "/etc/passwd": (
        "root:x:0:0:root:/root:/usr/sbin/nologin\n"
        f"nobody:x:{SANDBOX_UID}:{SANDBOX_GID}:sandbox:{SANDBOX_WORKDIR}:/bin/sh\n"
    ),
    "/etc/group": f"root:x:0:\nnogroup:x:{SANDBOX_GID}:\n",
    "/etc/hosts": f"127.0.0.1\tlocalhost\n::1\tlocalhost\n127.0.1.1\t{SANDBOX_HOSTNAME}\n",
}


def _etc_data_fds() -> list[int]:
    return [_memfd(f"agentrt{path.replace('/', '-')}", content) for path, content in _ETC_DATA.items()]


def _hard_limit(kind: int) -> float:
    hard = resource.getrlimit(kind)[1]
    return math.inf if hard == resource.RLIM_INFINITY else hard


def _processes_of(uid: int) -> int:
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                count += entry.stat().st_uid == uid
    return count


def _prlimit_args(plan: _Plan, limits: SandboxLimits) -> list[str]:
    """The rlimits, never above what this process may grant (an unprivileged prlimit cannot raise them)."""
    cpu = max(1, math.ceil(limits.cpu_seconds))
    cpu_hard = min(cpu + 1, _hard_limit(resource.RLIMIT_CPU))
    nproc = limits.max_processes
    if not plan.drop_privileges:
        # RLIMIT_NPROC counts every process of the uid: when it is the server's own,
        # allow the sandbox max_processes more than it already has.
        nproc += _processes_of(os.geteuid())

    def clamp(value: int, kind: int) -> int:
        return int(min(value, _hard_limit(kind)))

    return [
        f"--cpu={int(min(cpu, cpu_hard))}:{int(cpu_hard)}",
        f"--as={clamp(limits.memory_mb * 1024 * 1024, resource.RLIMIT_AS)}",
        f"--nproc={clamp(nproc, resource.RLIMIT_NPROC)}",
        f"--fsize={clamp(limits.max_file_mb * 1024 * 1024, resource.RLIMIT_FSIZE)}",
        "--core=0",
        f"--nofile={clamp(MAX_OPEN_FILES, resource.RLIMIT_NOFILE)}",
    ]


def _command(
    plan: _Plan,
    argv: Sequence[str],
    workspace: Path,
    limits: SandboxLimits,
    data_fds: list[int],
    ro_binds: Sequence[tuple[str, str]] = (),
) -> list[str]:
    status = plan.status
    command: list[str] = []
    if plan.drop_privileges:
        assert status.setpriv is not None
        command += [
            status.setpriv,
            f"--reuid={SANDBOX_UID}",
            f"--regid={SANDBOX_GID}",
            "--clear-groups",
            "--no-new-privs",
            "--",
        ]
    if status.prlimit:
        command += [status.prlimit, *_prlimit_args(plan, limits), "--"]
    if status.mode == "unconfined":
        return [*command, "/bin/sh", "-c", _LAUNCHER["unconfined"], _LAUNCHER_NAME, *argv]

    assert status.bwrap is not None
    tmpfs_bytes = str(limits.memory_mb * 1024 * 1024)
    shm_bytes = str(min(limits.memory_mb, SHM_MAX_MB) * 1024 * 1024)
    sized = "--size" in status.features
    bwrap = [status.bwrap, "--unshare-all", "--unshare-user"]
    if "--disable-userns" in status.features:
        bwrap.append("--disable-userns")
    bwrap += [
        "--die-with-parent",
        "--new-session",
        "--as-pid-1",
        "--hostname",
        SANDBOX_HOSTNAME,
        "--ro-bind",
        "/usr",
        "/usr",
    ]
    for path, target in plan.system_dirs:
        bwrap += ["--symlink", target, path] if target is not None else ["--ro-bind", path, path]
    for path in plan.etc_binds:
        bwrap += ["--ro-bind-try", path, path]
    for fd, path in zip(data_fds, _ETC_DATA, strict=True):
        bwrap += ["--ro-bind-data", str(fd), path]
    bwrap += ["--proc", "/proc", "--dev", "/dev"]
    bwrap += [*(["--size", shm_bytes] if sized else []), "--tmpfs", "/dev/shm", "--remount-ro", "/dev"]
    bwrap += [*(["--size", tmpfs_bytes] if sized else []), "--tmpfs", "/tmp"]
    for source, target in ro_binds:
        bwrap += ["--ro-bind", source, target]
    bwrap += ["--bind", str(workspace), SANDBOX_WORKDIR, "--remount-ro", "/", "--chdir", SANDBOX_WORKDIR]
    bwrap += ["--clearenv", "--setenv", "PATH", SANDBOX_PATH, "--setenv", "HOME", SANDBOX_WORKDIR]
    bwrap += ["--setenv", "LANG", "C.UTF-8", "--setenv", "TMPDIR", "/tmp"]
    bwrap += ["--", "/bin/sh", "-c", _LAUNCHER["bwrap"], _LAUNCHER_NAME, *argv]
    return command + bwrap


# -- running ------------------------------------------------------------------------------

_warned_unconfined = False


def _warn_unconfined(status: SandboxStatus) -> None:
    global _warned_unconfined
    if not _warned_unconfined:
        _warned_unconfined = True
        logger.warning(
            "%s=unconfined: sandboxed tools (code_run, shell_exec) run WITHOUT isolation: %s",
            SANDBOX_ENV,
            status.reason,
        )


class _Capture:
    """One output stream, kept up to a cap."""

    def __init__(self, cap: int, *, expect_marker: bool) -> None:
        self.cap = cap
        self.data = bytearray()
        self.dropped = 0
        self.expect_marker = expect_marker
        self.started = not expect_marker

    def add(self, chunk: bytes) -> None:
        if not self.started:
            if chunk[:1] != _STARTED:
                # Output that did not come after the launcher's marker: not the program's.
                self.expect_marker = False
                self.data += chunk[: self.cap]
                return
            self.started = True
            chunk = chunk[1:]
        room = max(0, self.cap - len(self.data))
        self.data += chunk[:room]
        self.dropped += max(0, len(chunk) - room)

    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")


_MEMORY_SIGNS = ("MemoryError", "Cannot allocate memory", "std::bad_alloc", "out of memory")
_PROCESS_SIGNS = ("Resource temporarily unavailable", "Cannot fork", "can't fork", "fork: retry")


def _inferred_limit(exit_code: int, stderr: str) -> str | None:
    if exit_code == 128 + signal.SIGXCPU:
        return "cpu_seconds"
    if exit_code == 128 + signal.SIGXFSZ or "File too large" in stderr:
        return "max_file_mb"
    # These limits make a call fail instead of killing: the program's own report says so
    # (a shell's fork bomb hits the process limit and still exits 0).
    if any(sign in stderr for sign in _MEMORY_SIGNS):
        return "memory_mb"
    if any(sign in stderr for sign in _PROCESS_SIGNS):
        return "max_processes"
    return None


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _kill_children(pid: int) -> bool:
    """SIGKILLs the children of ``pid`` (bwrap's: the sandbox's PID 1); whether there was one.

    Killing the sandbox's PID 1 takes every process of the sandbox with it, and leaves
    bwrap to reap it and exit: no zombie is orphaned to the host's init, where it would
    count against the sandbox uid's process limit until init reaps it (if ever).
    """
    listing = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        children = listing.read_text().split()
    except OSError:
        return False
    killed = False
    for child in children:
        try:
            fd = os.pidfd_open(int(child))
        except OSError:
            continue
        try:
            # Still bwrap's child once the pidfd is open: the pidfd names that process.
            if child in listing.read_text().split():
                signal.pidfd_send_signal(fd, signal.SIGKILL)
                killed = True
        except OSError:
            pass
        finally:
            os.close(fd)
    return killed


async def _process_exit(process: asyncio.subprocess.Process) -> None:
    """Returns once the process has exited, even if what it left behind holds its pipes open
    (``Process.wait`` waits for the pipes too)."""
    try:
        pidfd = os.pidfd_open(process.pid)
    except OSError:
        pidfd = -1
    if pidfd < 0 or process.returncode is not None:
        if pidfd >= 0:
            os.close(pidfd)
        # Already reaped: the child watcher sets the return code any moment now.
        while process.returncode is None:  # noqa: ASYNC110 - no public event to await
            await asyncio.sleep(0.01)
        return
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()

    def on_exit() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(pidfd, on_exit)
    try:
        await ready
    finally:
        loop.remove_reader(pidfd)
        os.close(pidfd)


async def _terminate(process: asyncio.subprocess.Process, exited: asyncio.Task[None], *, bwrap: bool) -> None:
    """Kills every process of the run: the sandbox's PID 1 first (bwrap), then the group."""
    if bwrap and _kill_children(process.pid):
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(exited), _KILL_GRACE_SECONDS)
    if process.returncode is None:
        _kill_group(process.pid)


class Sandbox:
    """Runs argv in a workspace under ``AGENTRT_SANDBOX``'s isolation, or refuses to."""

    def __init__(
        self,
        mode: str | None = None,
        *,
        default_limits: SandboxLimits | None = None,
        search_path: str = TOOL_SEARCH_PATH,
    ) -> None:
        self.mode = _mode_from_env(mode)
        self.default_limits = default_limits or SandboxLimits()
        self.search_path = search_path
        if self.mode == "unconfined":
            _warn_unconfined(self.status())

    def _plan(self) -> _Plan:
        return _probe(self.mode, self.search_path)

    def _prepare(self, workspace: Workspace | str | os.PathLike[str]) -> tuple[_Plan, Path]:
        plan = self._plan()
        if not plan.status.available:
            raise SandboxUnavailableError(plan.status.reason or "sandbox unavailable")
        path = workspace.path if isinstance(workspace, Workspace) else Path(os.path.realpath(workspace))
        if not path.is_dir():
            raise SandboxUnavailableError(f"workspace {path} does not exist")
        return plan, path

    def status(self) -> SandboxStatus:
        """Probed on first use, then remembered for the life of the process."""
        return self._plan().status

    async def run(
        self,
        argv: Sequence[str],
        workspace: Workspace | str | os.PathLike[str],
        *,
        stdin: bytes | str | None = None,
        limits: SandboxLimits | None = None,
        ro_binds: Sequence[tuple[str, str]] = (),
    ) -> SandboxResult:
        """Runs ``argv`` with ``/workspace`` as its working directory; a non-zero exit is a
        result, not an error. Raises ``SandboxUnavailableError`` when nothing could run.

        ``ro_binds`` are ``(host path, sandbox path)`` pairs mounted read-only (bwrap only;
        unconfined, the program sees host paths anyway)."""
        limits = limits or self.default_limits
        argv = list(argv)
        if not argv or not all(isinstance(arg, str) and "\x00" not in arg for arg in argv):
            raise SkillError("argv must be a non-empty list of strings without NUL characters")
        plan, path = await asyncio.to_thread(self._prepare, workspace)
        data = stdin.encode() if isinstance(stdin, str) else stdin
        bwrap = plan.status.mode == "bwrap"
        data_fds = _etc_data_fds() if bwrap else []
        env = _host_env()
        if not bwrap:
            env["HOME"] = str(path)
        try:
            process = await asyncio.create_subprocess_exec(
                *_command(plan, argv, path, limits, data_fds, ro_binds),
                stdin=asyncio.subprocess.PIPE if data is not None else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=env,
                cwd=path,
                start_new_session=True,
                pass_fds=data_fds,
            )
        except OSError as exc:
            raise SandboxUnavailableError(f"sandbox unavailable: cannot start the sandbox: {exc}") from exc
        finally:
            for fd in data_fds:
                os.close(fd)
        return await self._supervise(process, data, limits, bwrap=bwrap)

    async def _supervise(
        self,
        process: asyncio.subprocess.Process,
        data: bytes | None,
        limits: SandboxLimits,
        *,
        bwrap: bool,
    ) -> SandboxResult:
        assert process.stdout is not None and process.stderr is not None
        out = _Capture(limits.max_output_bytes, expect_marker=True)
        err = _Capture(limits.max_output_bytes, expect_marker=False)
        runaway = asyncio.Event()
        ceiling = limits.max_output_bytes * RUNAWAY_OUTPUT_FACTOR

        async def pump(stream: asyncio.StreamReader, capture: _Capture) -> None:
            while chunk := await stream.read(_READ_CHUNK):
                capture.add(chunk)
                if capture.dropped > ceiling:
                    runaway.set()

        async def feed(writer: asyncio.StreamWriter, payload: bytes) -> None:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                writer.write(payload)
                await writer.drain()
            writer.close()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                await writer.wait_closed()

        tasks = [
            asyncio.create_task(pump(process.stdout, out)),
            asyncio.create_task(pump(process.stderr, err)),
        ]
        if data is not None:
            assert process.stdin is not None
            tasks.append(asyncio.create_task(feed(process.stdin, data)))
        exited = asyncio.create_task(_process_exit(process))
        flooded = asyncio.create_task(runaway.wait())
        timed_out = False
        killed_reason: str | None = None
        try:
            done, _ = await asyncio.wait(
                {exited, flooded}, timeout=limits.wall_seconds, return_when=asyncio.FIRST_COMPLETED
            )
            if exited not in done:
                if flooded in done:
                    killed_reason = "max_output_bytes"
                else:
                    timed_out, killed_reason = True, "wall_seconds"
                await _terminate(process, exited, bwrap=bwrap)
            elif not bwrap:
                # Unconfined, nothing else ends what the program left running in its group.
                _kill_group(process.pid)
            await self._collect(process, tasks)
        except BaseException:
            # Cancelled (a step timeout) or failed: nothing of the run may outlive it.
            if process.returncode is None:
                await _terminate(process, exited, bwrap=bwrap)
            for task in tasks:
                task.cancel()
            raise
        finally:
            flooded.cancel()
            exited.cancel()
        returncode = process.returncode if process.returncode is not None else -signal.SIGKILL
        exit_code = 128 - returncode if returncode < 0 else returncode
        if not out.started and not timed_out:
            detail = err.text().strip() or f"exit status {exit_code}"
            raise SandboxUnavailableError(f"sandbox unavailable: the sandbox failed to start: {_hint(detail)}")
        stderr = err.text()
        if killed_reason is None:
            killed_reason = _inferred_limit(exit_code, stderr)
        return SandboxResult(
            exit_code=exit_code,
            stdout=out.text(),
            stderr=stderr,
            timed_out=timed_out,
            output_truncated=bool(out.dropped or err.dropped or killed_reason == "max_output_bytes"),
            killed_reason=killed_reason,
        )

    @staticmethod
    async def _collect(process: asyncio.subprocess.Process, tasks: list[asyncio.Task[None]]) -> None:
        """Waits for the process to be reaped and its output read, within bounds: a process
        that escaped the group (unconfined only) may hold the pipes open; they are closed."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), _DRAIN_SECONDS)
        _, pending = await asyncio.wait(tasks, timeout=0.1 if process.returncode is None else _DRAIN_SECONDS)
        if pending:
            transport = getattr(process, "_transport", None)
            if transport is not None:
                transport.close()
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        deadline = asyncio.get_running_loop().time() + _DRAIN_SECONDS
        while process.returncode is None and asyncio.get_running_loop().time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.01)


def _hint(detail: str) -> str:
    if re.search(r"Can't find source path .*Permission denied", detail):
        return f"{detail} (the workspace and every directory above it must be searchable by uid {SANDBOX_UID})"
    return detail
