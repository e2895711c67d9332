"""Per-session workspaces: the only directory a sandboxed tool may write.

A workspace is ``<root>/<org_id>/<session_id>/``, with the root from
``AGENTRT_WORKSPACE_DIR`` (default ``./data/workspaces``). When the server runs as
root the session directory is owned by the sandbox uid (65534), so a sandboxed program
can write it and nothing else; the directories above it stay root's.

Every path a caller names is relative to the workspace. ``resolve`` refuses a path
that could leave it (``..``, an absolute path, NUL, a symlink pointing out) with a
``WorkspacePathError``, and the file operations open each component with
``O_NOFOLLOW`` from a directory descriptor, so a sandboxed program that swaps a
file for a symlink between the check and the open gets a refusal, never a file from
outside. Only regular files with a single link are read or written.

This module knows nothing of the runtime: the API's endpoints that list and download
workspace files use it as they are.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from agentrt.errors import SkillError

SANDBOX_UID = 65534
SANDBOX_GID = 65534
"""``nobody``/``nogroup``: the identity sandboxed programs run as when the server is root."""

DEFAULT_WORKSPACE_DIR = Path("./data/workspaces")
WORKSPACE_DIR_ENV = "AGENTRT_WORKSPACE_DIR"
MAX_PATH_LENGTH = 1024
DEFAULT_MAX_FILES = 10_000

_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@-]{0,127}")
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)


class WorkspacePathError(SkillError):
    """A path names something outside the workspace, or something that cannot be used."""

    code = "WORKSPACE_PATH_REFUSED"


class WorkspaceFileNotFoundError(WorkspacePathError):
    code = "WORKSPACE_FILE_NOT_FOUND"


@dataclass(frozen=True, slots=True)
class WorkspaceFile:
    path: str
    """Relative to the workspace, ``/``-separated."""
    size: int
    mtime: float
    """Seconds since the epoch."""


def _default_owner() -> tuple[int, int] | None:
    return (SANDBOX_UID, SANDBOX_GID) if os.geteuid() == 0 else None


def _check_id(kind: str, value: str) -> str:
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise WorkspacePathError(
            f"{kind} {value!r} cannot name a workspace: use 1-128 letters, digits, '_', '.', '@' or '-', "
            "not starting with '.' or '-'"
        )
    return value


class Workspaces:
    """Where the per-session workspaces live; creates them on first use."""

    def __init__(self, root: str | os.PathLike[str] | None = None, *, owner: tuple[int, int] | None = None) -> None:
        if root is None:
            root = os.environ.get(WORKSPACE_DIR_ENV) or DEFAULT_WORKSPACE_DIR
        self.root = Path(os.path.abspath(root))
        self.owner = owner if owner is not None else _default_owner()
        """``(uid, gid)`` owning each session directory; ``None``: whoever the server runs as."""

    def path_for(self, org_id: str, session_id: str) -> Path:
        return self.root / _check_id("org_id", org_id) / _check_id("session_id", session_id)

    def for_session(self, org_id: str, session_id: str, *, create: bool = True) -> Workspace:
        """The session's workspace; with ``create=False`` a missing one is a ``WorkspacePathError``."""
        path = self.path_for(org_id, session_id)
        if create:
            # Directories above the session's stay the server's; 0711 lets the sandbox uid
            # reach its own directory (bwrap resolves the bind source as that uid) without
            # listing anyone else's.
            for directory in (self.root, path.parent):
                if not directory.is_dir():
                    directory.mkdir(mode=0o711, parents=True, exist_ok=True)
                    os.chmod(directory, 0o711)
            with contextlib.suppress(FileExistsError):
                os.mkdir(path, 0o700)
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            raise WorkspacePathError(f"no workspace for session {session_id!r}") from None
        if not stat.S_ISDIR(info.st_mode):
            raise WorkspacePathError(f"workspace {path} is not a directory")
        if self.owner is not None and (info.st_uid, info.st_gid) != self.owner:
            os.chown(path, *self.owner, follow_symlinks=False)
        return Workspace(path, owner=self.owner)


class Workspace:
    """One session's directory, and safe access to the files in it."""

    def __init__(self, path: str | os.PathLike[str], *, owner: tuple[int, int] | None = None) -> None:
        self.path = Path(os.path.realpath(path))
        self.owner = owner

    def __repr__(self) -> str:
        return f"Workspace({str(self.path)!r})"

    # -- paths -------------------------------------------------------------------------

    def relative(self, path: str) -> str:
        """``path`` checked and normalised (``a//./b`` → ``a/b``); ``""`` is the workspace itself."""
        if not isinstance(path, str):
            raise WorkspacePathError("a workspace path must be a string")
        if "\x00" in path:
            raise WorkspacePathError("a workspace path cannot contain a NUL character")
        if len(path) > MAX_PATH_LENGTH:
            raise WorkspacePathError(f"a workspace path cannot be longer than {MAX_PATH_LENGTH} characters")
        if path.startswith("/"):
            raise WorkspacePathError(
                f"absolute path {path!r} refused: name files relative to the workspace "
                "(e.g. 'out/result.txt', not '/workspace/out/result.txt')"
            )
        parts = [part for part in path.split("/") if part not in ("", ".")]
        if ".." in parts:
            raise WorkspacePathError(f"path {path!r} refused: '..' could leave the workspace")
        return "/".join(parts)

    def resolve(self, path: str) -> Path:
        """The absolute path ``path`` names, after symlinks; refused unless inside the workspace."""
        rel = self.relative(path)
        real = os.path.realpath(self.path / rel) if rel else str(self.path)
        if real != str(self.path) and not real.startswith(str(self.path) + os.sep):
            raise WorkspacePathError(f"path {path!r} refused: it leads out of the workspace through a symlink")
        return Path(real)

    def _parts(self, path: str) -> list[str]:
        """The components of ``path`` below the workspace, symlinks inside resolved."""
        real = self.resolve(path)
        rel = os.path.relpath(real, self.path)
        parts = [] if rel == "." else rel.split(os.sep)
        if not parts:
            raise WorkspacePathError(f"path {path!r} names the workspace itself, not a file")
        return parts

    @contextlib.contextmanager
    def _dir_fd(self, parts: list[str], path: str, *, create: bool = False) -> Iterator[int]:
        """A descriptor on the directory holding ``parts[-1]``, reached without following symlinks."""
        fd = os.open(self.path, os.O_RDONLY | _O_DIRECTORY | _O_NOFOLLOW | _O_CLOEXEC)
        try:
            for part in parts[:-1]:
                if create:
                    try:
                        os.mkdir(part, 0o755, dir_fd=fd)
                    except FileExistsError:
                        pass
                    else:
                        self._chown(part, fd)
                try:
                    child = os.open(part, os.O_RDONLY | _O_DIRECTORY | _O_NOFOLLOW | _O_CLOEXEC, dir_fd=fd)
                except FileNotFoundError:
                    raise WorkspacePathError(f"{path!r}: no such file in the workspace") from None
                except OSError as exc:
                    raise self._refusal(path, exc) from None
                os.close(fd)
                fd = child
            yield fd
        finally:
            os.close(fd)

    def _chown(self, name: str, dir_fd: int) -> None:
        if self.owner is not None:
            os.chown(name, *self.owner, dir_fd=dir_fd, follow_symlinks=False)

    @staticmethod
    def _refusal(path: str, exc: OSError) -> WorkspacePathError:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            return WorkspacePathError(f"{path!r} refused: a component is a symlink or not a directory")
        if exc.errno == errno.ENXIO:  # a FIFO or socket nobody reads
            return WorkspacePathError(f"{path!r} is not a regular file")
        if exc.errno == errno.EISDIR:
            return WorkspacePathError(f"{path!r} is a directory, not a file")
        return WorkspacePathError(f"{path!r}: {exc.strerror or exc}")

    @staticmethod
    def _check_regular(fd: int, path: str) -> os.stat_result:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            raise WorkspacePathError(f"{path!r} is {kind}")
        if info.st_nlink > 1:
            raise WorkspacePathError(f"{path!r} refused: it is a hard link shared with another path")
        return info

    def _open_existing(self, path: str) -> int:
        parts = self._parts(path)
        with self._dir_fd(parts, path) as dir_fd:
            try:
                # O_NONBLOCK: opening a FIFO a sandboxed program left behind must not hang.
                fd = os.open(parts[-1], os.O_RDONLY | _O_NOFOLLOW | _O_CLOEXEC | os.O_NONBLOCK, dir_fd=dir_fd)
            except FileNotFoundError:
                raise WorkspaceFileNotFoundError(f"{path!r}: no such file in the workspace") from None
            except OSError as exc:
                raise self._refusal(path, exc) from None
        try:
            self._check_regular(fd, path)
            os.set_blocking(fd, True)
        except BaseException:
            os.close(fd)
            raise
        return fd

    # -- files -------------------------------------------------------------------------

    def open_read(self, path: str) -> BinaryIO:
        """A binary file object for ``path`` (for streaming a download); the caller closes it."""
        return os.fdopen(self._open_existing(path), "rb")

    def read_bytes(self, path: str, max_bytes: int) -> bytes:
        """At most ``max_bytes`` bytes from the start of ``path``."""
        if max_bytes < 0:
            raise ValueError("max_bytes must be >= 0")
        with self.open_read(path) as handle:
            return handle.read(max_bytes)

    def write_bytes(self, path: str, data: bytes) -> int:
        """Create or replace ``path`` (and its missing directories); returns the bytes written."""
        parts = self._parts(path)
        with self._dir_fd(parts, path, create=True) as dir_fd:
            try:
                fd = os.open(
                    parts[-1],
                    os.O_WRONLY | os.O_CREAT | _O_NOFOLLOW | _O_CLOEXEC | os.O_NONBLOCK,
                    0o644,
                    dir_fd=dir_fd,
                )
            except OSError as exc:
                raise self._refusal(path, exc) from None
        with os.fdopen(fd, "wb") as handle:
            self._check_regular(fd, path)
            os.set_blocking(fd, True)
            if self.owner is not None:
                os.fchown(fd, *self.owner)
            handle.truncate(0)
            handle.write(data)
        return len(data)

    def list_files(self, *, max_files: int = DEFAULT_MAX_FILES) -> list[WorkspaceFile]:
        """Regular files below the workspace, sorted by path (symlinks and special files are left out)."""
        found: list[WorkspaceFile] = []
        top = os.open(self.path, os.O_RDONLY | _O_DIRECTORY | _O_NOFOLLOW | _O_CLOEXEC)
        # fwalk descends through descriptors without following symlinks, so a directory
        # swapped for a symlink mid-walk is never listed through.
        walker = os.fwalk(".", dir_fd=top, follow_symlinks=False)
        try:
            for dirpath, _dirs, files, dir_fd in walker:
                for name in files:
                    try:
                        info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
                    except OSError:
                        continue
                    if not stat.S_ISREG(info.st_mode):
                        continue
                    rel = os.path.normpath(os.path.join(dirpath, name))
                    found.append(WorkspaceFile(rel, info.st_size, info.st_mtime))
                    if len(found) >= max_files:
                        break
                if len(found) >= max_files:
                    break
        finally:
            close = getattr(walker, "close", None)  # a generator: closing releases its descriptors
            if close is not None:
                close()
            os.close(top)
        found.sort(key=lambda item: item.path)
        return found
