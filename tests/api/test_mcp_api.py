"""MCP servers through the API: their tools listed and pinned, used in chats, changes withheld."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from tests.api.server import Api, Server

SERVER_SCRIPT = str(Path(__file__).resolve().parent.parent / "mcp" / "mcp_test_server.py")


def register(api: Api, name: str, env: dict[str, str], command: str = sys.executable) -> dict[str, Any]:
    return dict(
        api.ok(
            "POST",
            "/v1/mcp-servers",
            json={"name": name, "transport": "stdio", "command": command, "args": [SERVER_SCRIPT], "env": env},
        )
    )


def step(capability: str, **args: Any) -> dict[str, Any]:
    return {"steps": [{"id": "m1", "capability": capability, "args": args, "depends_on": []}]}


def test_tools_listed_pinned_used_and_changes_withheld_until_accepted(server: Server, api: Api, tmp_path: Path) -> None:
    flag = tmp_path / f"changed-{server.port}.flag"
    created = register(api, f"dict{server.port}", {"MCP_TEST_FLAG": str(flag)})
    listing = api.ok("GET", f"/v1/mcp-servers/{created['id']}/tools")
    assert listing["reachable"] is True and listing["error"] is None
    tools = {t["name"]: t for t in listing["tools"]}
    assert {"add", "echo", "lookup", "wipe"} <= set(tools)
    assert {t["status"] for t in tools.values()} == {"new"}
    assert tools["wipe"]["destructive"] is True
    add, lookup = tools["add"]["capability"], tools["lookup"]["capability"]
    assert add.startswith("mcp__") and add.endswith("__add")
    assert {t["status"] for t in api.ok("GET", f"/v1/mcp-servers/{created['id']}/tools")["tools"]} == {"pinned"}

    agent = api.agent([step(add, a=2, b=3), "2 + 3 = 5"], mcp_servers=[created["id"]])
    events = api.chat(api.session(agent["id"])["id"], "add 2 and 3")
    assert add in next(e for e in events if e["type"] == "run_started")["data"]["capabilities"]
    finished = next(e["data"] for e in events if e["type"] == "step_finished")
    assert finished["capability"] == add and finished["output"] == {"result": 5}

    flag.touch()  # the server now describes lookup differently
    changed = {t["name"]: t for t in api.ok("GET", f"/v1/mcp-servers/{created['id']}/tools")["tools"]}["lookup"]
    assert changed["status"] == "changed"
    assert changed["pinned_definition"]["description"] == "Looks a word up in the dictionary."
    assert "evil.example" in changed["description"]

    api.ok("PATCH", f"/v1/agents/{agent['id']}", json={"metadata": {"script": [step(lookup, word="x")] * 3}})
    events = api.chat(api.session(agent["id"])["id"], "look up x")
    started = next(e for e in events if e["type"] == "run_started")["data"]
    assert lookup not in started["capabilities"]
    assert "definition changed since it was pinned" in started["unavailable"][lookup]
    plan = next(e for e in events if e["type"] == "plan")["data"]
    assert "definition changed since it was pinned" in plan["errors"][0]

    member = api.ok("POST", "/v1/users", json={"email": f"mcp-member-{server.port}@example.com"})
    member_api = server.client(api.ok("POST", "/v1/api-keys", json={"name": "m", "user_id": member["id"]})["key"])
    assert member_api.post(f"/v1/mcp-servers/{created['id']}/tools/lookup/accept").status_code == 403
    member_api.http.close()
    accepted = api.ok("POST", f"/v1/mcp-servers/{created['id']}/tools/lookup/accept")
    assert accepted["status"] == "pinned"
    api.ok("PATCH", f"/v1/agents/{agent['id']}", json={"metadata": {"script": [step(lookup, word="x"), "done"]}})
    events = api.chat(api.session(agent["id"])["id"], "look up x")
    assert next(e["data"] for e in events if e["type"] == "step_finished")["output"] == "x: a word"


def test_unreachable_server_is_reported_not_fatal(server: Server, api: Api) -> None:
    broken = register(api, f"broken{server.port}", {}, command="/nonexistent/mcp-server")
    listing = api.ok("GET", f"/v1/mcp-servers/{broken['id']}/tools")
    assert listing["reachable"] is False and listing["tools"] == []
    assert "broken" in listing["error"]
    agent = api.agent([{"steps": []}, "fine without it"], mcp_servers=[broken["id"]])
    events = api.chat(api.session(agent["id"])["id"], "hi")
    started = next(e for e in events if e["type"] == "run_started")["data"]
    assert any(name.endswith("__*") for name in started["unavailable"])
    assert events[-1]["type"] == "done"
    accept = api.post(f"/v1/mcp-servers/{broken['id']}/tools/x/accept")
    assert accept.status_code == 502 and accept.json()["code"] == "MCP_ERROR"


def test_destructive_tool_needs_approval(server: Server, api: Api, tmp_path: Path) -> None:
    created = register(api, f"files{server.port}", {"MCP_TEST_FLAG": str(tmp_path / "none.flag")})
    wipe = {t["name"]: t for t in api.ok("GET", f"/v1/mcp-servers/{created['id']}/tools")["tools"]}["wipe"]
    agent = api.agent([step(wipe["capability"], path="a.txt"), "deleted"], mcp_servers=[created["id"]])
    events = api.chat(api.session(agent["id"])["id"], "delete a.txt", until=lambda e: e["type"] == "approval_required")
    assert events[-1]["data"]["capability"] == wipe["capability"]
    assert events[-1]["data"]["reason"] == f"{wipe['capability']} is declared destructive"
    api.ok("POST", f"/v1/approvals/{events[-1]['data']['approval_id']}", json={"decision": "approve"})
    assert api.wait_run(events[0]["run_id"])["status"] == "completed"
