"""The real sandboxed tools through the API: approval, execution in bubblewrap, workspace download."""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
import zipfile
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
    # The sandbox uid must reach the workspaces and the uploaded skills (pytest's tmp_path is 0700).
    data_dir = Path(tempfile.mkdtemp(prefix="agentrt-api-data-"))
    os.chmod(data_dir, 0o711)
    srv = Server(
        f"sqlite+aiosqlite:///{data_dir / 'agentrt.sqlite'}",
        data_dir,
        extra_env={"AGENTRT_SKILLS_DIR": "", "AGENTRT_DATA_DIR": str(data_dir)},
    )
    yield srv.start()
    srv.stop()
    shutil.rmtree(data_dir, ignore_errors=True)


def steps(*items: tuple[str, str, dict[str, Any]]) -> dict[str, Any]:
    return {"steps": [{"id": i, "capability": c, "args": a, "depends_on": []} for i, c, a in items]}


def test_code_runs_sandboxed_after_approval_and_its_files_can_be_downloaded(tool_server: Server) -> None:
    api = tool_server.client()
    assert api.ok("GET", "/healthz")["sandbox"]["available"] is True
    tools = {t["name"]: t["id"] for t in api.ok("GET", "/v1/tools")}
    assert set(tools) >= {"code_run", "shell_exec", "file_write", "file_read"}
    code = "import os, socket\nprint(os.getuid(), sorted(os.environ))\nopen('out.txt','w').write('made inside')\n"
    agent = api.agent(
        [steps(("c", "code_run", {"code": code})), "Ran it."], tools=[tools["code_run"], tools["file_read"]]
    )
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


def word_count_package(version: str, factor: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "word_count/skill.json",
            json.dumps(
                {
                    "name": "word_count",
                    "version": version,
                    "description": "Counts words",
                    "input_schema": {
                        "type": "object",
                        "properties": {"text": {"type": "string"}},
                        "required": ["text"],
                    },
                    "entry_point": "main.py:run",
                }
            ),
        )
        archive.writestr(
            "word_count/main.py",
            (
                "import os\n"
                "def run(args, ctx):\n"
                f"    return {{'words': len(args['text'].split()) * {factor}, 'version': '{version}',\n"
                "            'uid': os.getuid(), 'session': ctx['session_id']}\n"
            ),
        )
    return buffer.getvalue()


def test_uploaded_code_skill_runs_sandboxed_and_versions_stay_apart(tool_server: Server) -> None:
    api = tool_server.client()
    v1 = api.post("/v1/skills", files={"package": ("wc1.zip", word_count_package("1.0.0", 1))})
    assert v1.status_code == 201, v1.text
    v2 = api.post("/v1/skills", files={"package": ("wc2.zip", word_count_package("2.0.0", 10))})
    assert v2.status_code == 201, v2.text
    plan = steps(("w", "word_count", {"text": "one two three"}))
    pinned = api.agent([plan, "counted"], skills=[v1.json()["id"]])
    latest = api.agent([plan, "counted"], skills=["word_count"])

    outputs = {}
    for name, agent in (("pinned", pinned), ("latest", latest)):
        chat = api.session(agent["id"])
        events = api.chat(chat["id"], "count")
        outputs[name] = next(e["data"]["output"] for e in events if e["type"] == "step_finished")
        assert outputs[name]["session"] == chat["id"]
    assert outputs["pinned"]["words"] == 3 and outputs["pinned"]["version"] == "1.0.0"
    assert outputs["latest"]["words"] == 30 and outputs["latest"]["version"] == "2.0.0"
    assert outputs["pinned"]["uid"] == 65534  # in the sandbox, not the server

    boom = io.BytesIO()
    with zipfile.ZipFile(boom, "w") as archive:
        archive.writestr(
            "skill.json",
            json.dumps({"name": "boom", "version": "1", "description": "Fails", "entry_point": "main.py:run"}),
        )
        archive.writestr("main.py", "def run(args):\n    raise ValueError('kaboom')\n")
    boom_id = api.post("/v1/skills", files={"package": ("boom.zip", boom.getvalue())}).json()["id"]
    broken = api.agent([steps(("b", "boom", {})), {"steps": []}, "gave up"], skills=[boom_id])
    events = api.chat(api.session(broken["id"])["id"], "explode")
    failed = next(e["data"] for e in events if e["type"] == "step_failed")
    assert failed["reason"] == "error" and "ValueError: kaboom" in failed["error"]
    assert events[-1]["type"] == "done"  # the run went on (re-planned)
    api.http.close()
