"""The workspace's path checks: nothing outside the session's directory is named, read or written."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from agentrt.errors import SkillError
from agentrt.tools import SANDBOX_GID, SANDBOX_UID, WORKSPACE_DIR_ENV, Workspace, WorkspacePathError, Workspaces
from tests.tools.conftest import IS_ROOT


@pytest.fixture
def space(workspaces: Workspaces) -> Workspace:
    return workspaces.for_session("org_1", "sess_1")


def test_workspace_is_per_org_and_session(workspaces: Workspaces) -> None:
    one = workspaces.for_session("org_1", "sess_1")
    other = workspaces.for_session("org_1", "sess_2")
    assert one.path == (workspaces.root / "org_1" / "sess_1").resolve()
    assert one.path != other.path
    info = os.stat(one.path)
    assert stat.S_IMODE(info.st_mode) == 0o700
    assert stat.S_IMODE(os.stat(one.path.parent).st_mode) == 0o711
    if IS_ROOT:
        assert (info.st_uid, info.st_gid) == (SANDBOX_UID, SANDBOX_GID)
        assert os.stat(one.path.parent).st_uid == 0


def test_root_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch, workspace_root: Path) -> None:
    monkeypatch.setenv(WORKSPACE_DIR_ENV, str(workspace_root / "from-env"))
    assert Workspaces().root == workspace_root / "from-env"
    monkeypatch.delenv(WORKSPACE_DIR_ENV)
    assert Workspaces().root == Path.cwd() / "data" / "workspaces"


@pytest.mark.parametrize("bad", ["", ".", "..", "../x", "a/b", "org 1", "-x", ".hidden", "a\x00b", "x" * 200])
def test_ids_must_be_plain_names(workspaces: Workspaces, bad: str) -> None:
    with pytest.raises(WorkspacePathError) as caught:
        workspaces.for_session(bad, "sess_1")
    assert caught.value.code == "WORKSPACE_PATH_REFUSED"
    with pytest.raises(WorkspacePathError):
        workspaces.for_session("org_1", bad)


def test_missing_workspace_without_create(workspaces: Workspaces) -> None:
    with pytest.raises(WorkspacePathError, match="no workspace"):
        workspaces.for_session("org_1", "never", create=False)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("../escape.txt", "'..'"),
        ("a/../../escape.txt", "'..'"),
        ("a/../b", "'..'"),
        ("/etc/passwd", "absolute path"),
        ("/workspace/out.txt", "relative to the workspace"),
        ("a\x00b", "NUL"),
        ("x" * 2000, "longer than"),
    ],
)
def test_resolve_refuses_paths_that_could_leave(space: Workspace, path: str, message: str) -> None:
    with pytest.raises(WorkspacePathError, match=message) as caught:
        space.resolve(path)
    assert caught.value.code == "WORKSPACE_PATH_REFUSED"
    assert isinstance(caught.value, SkillError)


def test_resolve_normalises_paths_inside(space: Workspace) -> None:
    assert space.resolve("a//./b.txt") == space.path / "a" / "b.txt"
    assert space.relative("./a//b/") == "a/b"


def test_symlinks_out_are_refused(space: Workspace, workspace_root: Path) -> None:
    outside = workspace_root / "secret.txt"
    outside.write_text("outside")
    (space.path / "file-link").symlink_to(outside)
    (space.path / "dir-link").symlink_to(workspace_root)
    (space.path / "shadow").symlink_to("/etc/shadow")
    (space.path / "relative-up").symlink_to("../../..")
    for path in ("file-link", "dir-link/secret.txt", "shadow", "relative-up/secret.txt"):
        with pytest.raises(WorkspacePathError, match="out of the workspace through a symlink"):
            space.resolve(path)
        with pytest.raises(WorkspacePathError):
            space.read_bytes(path, 100)
        with pytest.raises(WorkspacePathError):
            space.write_bytes(path, b"overwritten")
    assert outside.read_text() == "outside"
    assert not (workspace_root / "overwritten").exists()


def test_symlinks_inside_are_followed(space: Workspace) -> None:
    space.write_bytes("real/data.txt", b"inside")
    (space.path / "alias").symlink_to("real")
    assert space.read_bytes("alias/data.txt", 100) == b"inside"
    assert space.resolve("alias/data.txt") == space.path / "real" / "data.txt"


def test_write_read_and_list(space: Workspace) -> None:
    assert space.write_bytes("out/deep/result.txt", b"hello world") == 11
    assert space.read_bytes("out/deep/result.txt", 5) == b"hello"
    assert space.read_bytes("out/deep/result.txt", 100) == b"hello world"
    space.write_bytes("out/deep/result.txt", b"short")
    assert space.read_bytes("out/deep/result.txt", 100) == b"short"
    space.write_bytes("top.bin", b"\x00\x01")
    listed = space.list_files()
    assert [(item.path, item.size) for item in listed] == [("out/deep/result.txt", 5), ("top.bin", 2)]
    assert all(item.mtime > 0 for item in listed)
    if IS_ROOT:
        for path in ("out", "out/deep", "out/deep/result.txt"):
            info = os.stat(space.path / path)
            assert (info.st_uid, info.st_gid) == (SANDBOX_UID, SANDBOX_GID)
    with space.open_read("top.bin") as handle:
        assert handle.read() == b"\x00\x01"


def test_list_leaves_out_symlinks_and_does_not_follow_them(space: Workspace, workspace_root: Path) -> None:
    (workspace_root / "outside").mkdir()
    (workspace_root / "outside" / "private.txt").write_text("x")
    (space.path / "out-dir").symlink_to(workspace_root / "outside")
    (space.path / "out-file").symlink_to(workspace_root / "outside" / "private.txt")
    space.write_bytes("mine.txt", b"1")
    assert [item.path for item in space.list_files()] == ["mine.txt"]
    space.write_bytes("more.txt", b"2")
    assert len(space.list_files(max_files=1)) == 1


def test_special_files_are_refused(space: Workspace) -> None:
    os.mkfifo(space.path / "fifo")
    with pytest.raises(WorkspacePathError, match="not a regular file"):
        space.read_bytes("fifo", 10)  # must not block waiting for a writer
    with pytest.raises(WorkspacePathError, match="not a regular file"):
        space.write_bytes("fifo", b"x")
    (space.path / "dir").mkdir()
    with pytest.raises(WorkspacePathError, match="directory"):
        space.read_bytes("dir", 10)
    with pytest.raises(WorkspacePathError, match="workspace itself"):
        space.read_bytes(".", 10)
    with pytest.raises(WorkspacePathError, match="no such file"):
        space.read_bytes("missing.txt", 10)


def test_hard_links_are_refused(space: Workspace) -> None:
    space.write_bytes("original.txt", b"data")
    os.link(space.path / "original.txt", space.path / "linked.txt")
    with pytest.raises(WorkspacePathError, match="hard link"):
        space.read_bytes("linked.txt", 10)
    with pytest.raises(WorkspacePathError, match="hard link"):
        space.write_bytes("original.txt", b"changed")
    assert (space.path / "linked.txt").read_bytes() == b"data"


def test_a_component_swapped_for_a_symlink_is_refused(space: Workspace, workspace_root: Path) -> None:
    """The open walks components without following symlinks: a swap after the check is refused."""
    space.write_bytes("sub/file.txt", b"inside")
    parts = space._parts("sub/file.txt")  # checked while 'sub' is a directory
    (space.path / "sub" / "file.txt").unlink()
    (space.path / "sub").rmdir()
    (space.path / "sub").symlink_to(workspace_root)
    (workspace_root / "file.txt").write_text("outside")
    with pytest.raises(WorkspacePathError, match="symlink"), space._dir_fd(parts, "sub/file.txt"):
        pass
