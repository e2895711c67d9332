"""The real sandboxed tools through the API: approval, execution in bubblewrap, workspace download."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentrt.tools import sandbox_status
from tests.api.server import Server


@pytest.fixture
def tool_server(tmp_path: Path) -> Iterator[Server]:
    status = sandbox_status("bwrap")
    if not status.available:
        if os.environ.get("CI") == "true":
            pytest.fail(str(status.reason))
        pytest.skip(f"{status.reason} (fails instead when CI=true)")
    workspaces = Path(tempfile.mkdtemp(prefix="agentrt-api-ws-"))
    os.chmod(workspaces, 0o711)  # the sandbox uid must reach its session directory
    srv = Server(f"sqlite+aiosqlite:///{tmp_path / 'agentrt.sqlite'}", tmp_path,
                 extra_env={"AGENTRT_SKILLS_DIR": "", "AGENTRT_WORKSPACE_DIR": str(workspaces)})
    yield srv.start()
    srv.stop()
    shutil.rmtree(workspaces, ignore_errors=True)


def steps(*items: tuple[str, str, dict[str, Any]]) -> dict[str, Any]:
    return {"steps": [{"id": i, "capability": c, "args": a, "depends_on": []} for i, c, a in items]}


def test_code_runs_sandboxed_after_approval_and_its_files_can_be_downloaded(tool_server: Server) -> None:
    api = tool_server.client()
    assert api.ok("GET", "/healthz")["sandbox"]["available"] is True
    tools = {t["name"]: t["id"] for t in api.ok("GET", "/v1/tools")}
    assert set(tools) >= {"code_run", "shell_exec", "file_write", "file_read"}
    code = "import os, socket\nprint(os.getuid(), sorted(os.environ))\nopen('out.txt','w').write('made inside')\n"
    agent = api.agent([steps(("c", "code_run", {"code": code})), "Ran it."],
                      tools=[tools["code_run"], tools["file_read"]])
    chat = api.session(agent["id"])
    first = api.chat(chat["id"], "run some code", until=lambda e: e["type"] == "approval_required")
    run_id = first[0]["run_id"]
    assert first[-1]["data"]["capability"] == "code_run"
    assert api.ok("GET", f"/v1/sessions/{chat['id']}/workspace") == []

    api.ok("POST", f"/v1/approvals/{first[-1]['data']['approval_id']}", json={"decision": "approve"})
    rest = api.events(run_id, last_event_id=first[-1]["seq"])
    output = next(e["data"]["output"] for e in rest if e["type"] == "step_finished")
    assert output["exit_code"] == 0, output
    uid, env = output["stdout"].split(" ", 1)
    assert uid == "65534"
    assert "AGENTRT_ADMIN_API_KEY" not in env and "DATABASE_URL" not in env

    files = api.ok("GET", f"/v1/sessions/{chat['id']}/workspace")
    assert [(f["path"], f["size"]) for f in files] == [("out.txt", 11)]
    download = api.get(f"/v1/sessions/{chat['id']}/workspace/files/out.txt")
    assert download.status_code == 200 and download.content == b"made inside"
    assert download.headers["content-disposition"] == 'attachment; filename="out.txt"'
    missing = api.get(f"/v1/sessions/{chat['id']}/workspace/files/nope.txt")
    assert missing.status_code == 404 and missing.json()["code"] == "WORKSPACE_FILE_NOT_FOUND"
    escape = api.get(f"/v1/sessions/{chat['id']}/workspace/files/..%2F..%2Fagentrt.sqlite")
    assert (escape.status_code, escape.json()["code"]) == (422, "WORKSPACE_PATH_REFUSED"), escape.text
    other = tool_server.client(tool_server.create_org("Snoopers")["api_key"])
    assert other.get(f"/v1/sessions/{chat['id']}/workspace").status_code == 404
    assert other.get(f"/v1/sessions/{chat['id']}/workspace/files/out.txt").status_code == 404
    other.http.close()
    api.http.close()
