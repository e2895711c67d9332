"""Users, API keys, skills, tools and MCP servers against a real server, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.api.server import Api, Server

SCHEMA = {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}
ADMIN_ONLY = {"code": "FORBIDDEN", "message": "this needs the admin role"}


def uid() -> str:
    return uuid.uuid4().hex[:8]


def error(response: httpx.Response, status: int, code: str, message: str | None = None) -> dict[str, Any]:
    """Assert the one error shape; return the body (for its ``details``)."""
    assert response.status_code == status, response.text
    body = dict(response.json())
    assert set(body) <= {"code", "message", "details"}
    assert body["code"] == code, body
    if message is not None:
        assert body["message"] == message, body
    return body


def exact(response: httpx.Response, status: int, body: dict[str, Any]) -> None:
    assert response.status_code == status, response.text
    assert response.json() == body


def not_found(response: httpx.Response, what: str, row_id: str) -> None:
    exact(response, 404, {"code": "NOT_FOUND", "message": f"no {what} {row_id}"})


@dataclass
class Member:
    user: dict[str, Any]
    key: str
    api: Api


def make_member(api: Api, server: Server) -> Member:
    user = api.ok("POST", "/v1/users", json={"email": f"member-{uid()}@example.com", "role": "member"})
    created = api.ok("POST", "/v1/api-keys", json={"name": "member key", "user_id": user["id"]})
    return Member(user, created["key"], server.client(created["key"]))


@pytest.fixture(scope="module")
def member(server: Server) -> Iterator[Member]:
    admin = server.client()
    made = make_member(admin, server)
    yield made
    made.api.http.close()
    admin.http.close()


@pytest.fixture(scope="module")
def other(server: Server) -> Iterator[tuple[dict[str, str], Api]]:
    """A second organisation and its admin's client (nothing in this module adds admins to it)."""
    org = server.create_org("other")
    client = server.client(org["api_key"])
    yield org, client
    client.http.close()


# --- users -------------------------------------------------------------------------------
def test_users_crud(api: Api) -> None:
    email = f"Ada-{uid()}@Example.com"
    response = api.post("/v1/users", json={"email": email, "name": "Ada", "role": "member"})
    assert response.status_code == 201, response.text
    user = response.json()
    assert set(user) == {"id", "email", "name", "role", "created_at"}
    assert (user["email"], user["name"], user["role"]) == (email.lower(), "Ada", "member")

    assert user["id"] in [u["id"] for u in api.ok("GET", "/v1/users")]
    assert api.ok("GET", f"/v1/users/{user['id']}") == user

    exact(
        api.post("/v1/users", json={"email": email.upper()}),
        409,
        {
            "code": "USER_EXISTS",
            "message": f"a user with the email {email.lower()} already exists in this organisation",
            "details": {"field": "email"},
        },
    )

    patched = api.ok("PATCH", f"/v1/users/{user['id']}", json={"role": "admin", "name": "Ada L."})
    assert (patched["role"], patched["name"], patched["email"]) == ("admin", "Ada L.", email.lower())
    assert api.ok("PATCH", f"/v1/users/{user['id']}", json={"role": "member"})["role"] == "member"

    response = api.delete(f"/v1/users/{user['id']}")
    assert response.status_code == 204 and response.content == b""
    not_found(api.get(f"/v1/users/{user['id']}"), "user", user["id"])
    not_found(api.delete(f"/v1/users/{user['id']}"), "user", user["id"])
    not_found(api.patch(f"/v1/users/{user['id']}", json={"name": "x"}), "user", user["id"])


def test_users_refuse_bad_input(api: Api) -> None:
    body = error(
        api.post("/v1/users", json={"email": f"x-{uid()}@example.com", "role": "owner"}),
        422,
        "VALIDATION_ERROR",
        "role: Input should be 'admin' or 'member'",
    )
    assert body["details"][0]["loc"] == ["body", "role"]
    error(api.post("/v1/users", json={"email": "not an email"}), 422, "VALIDATION_ERROR")
    error(
        api.post("/v1/users", json={"email": f"x-{uid()}@example.com", "password": "x"}),
        422,
        "VALIDATION_ERROR",
        "password: Extra inputs are not permitted",
    )
    user = api.ok("POST", "/v1/users", json={"email": f"x-{uid()}@example.com"})
    assert user["role"] == "member" and user["name"] is None
    error(
        api.patch(f"/v1/users/{user['id']}", json={"role": None}),
        422,
        "VALIDATION_ERROR",
        "Value error, role may not be null",
    )


def test_admin_cannot_delete_itself(server: Server, api: Api) -> None:
    me = api.ok("GET", "/v1/users")[0]
    assert me["role"] == "admin"
    exact(
        api.delete(f"/v1/users/{me['id']}"),
        409,
        {"code": "CANNOT_DELETE_SELF", "message": "you cannot delete yourself"},
    )
    assert api.ok("GET", f"/v1/users/{me['id']}") == me


def test_the_last_admin_stays_an_admin(other: tuple[dict[str, str], Api]) -> None:
    org, client = other
    exact(
        client.patch(f"/v1/users/{org['admin_user_id']}", json={"role": "member"}),
        409,
        {"code": "LAST_ADMIN", "message": "the organisation's last admin cannot become a member"},
    )
    assert client.ok("GET", f"/v1/users/{org['admin_user_id']}")["role"] == "admin"


def test_deleting_a_user_deletes_their_keys(server: Server, api: Api) -> None:
    gone = make_member(api, server)
    assert gone.api.ok("GET", "/v1/users")
    assert api.delete(f"/v1/users/{gone.user['id']}").status_code == 204
    exact(gone.api.get("/v1/users"), 401, {"code": "UNAUTHORIZED", "message": "invalid or revoked API key"})
    assert gone.user["id"] not in {k["user_id"] for k in api.ok("GET", "/v1/api-keys")}
    gone.api.http.close()


# --- API keys -----------------------------------------------------------------------------
KEY_FIELDS = {"id", "user_id", "name", "prefix", "created_at", "last_used_at", "revoked_at"}


def test_api_key_is_shown_once_and_revocation_gives_401(server: Server, api: Api, member: Member) -> None:
    response = api.post("/v1/api-keys", json={"name": f"ci-{uid()}", "user_id": member.user["id"]})
    assert response.status_code == 201, response.text
    created = response.json()
    assert set(created) == KEY_FIELDS | {"key"}
    assert created["key"].startswith("agrt_") and created["key"].startswith(created["prefix"])
    assert created["user_id"] == member.user["id"] and created["revoked_at"] is None

    listed = {k["id"]: k for k in api.ok("GET", "/v1/api-keys")}
    shown = api.ok("GET", f"/v1/api-keys/{created['id']}")
    for public in (listed[created["id"]], shown):
        assert set(public) == KEY_FIELDS
    assert created["key"] not in api.get("/v1/api-keys").text

    new = server.client(created["key"])
    me = new.ok("GET", f"/v1/users/{member.user['id']}")
    assert me["id"] == member.user["id"]
    assert api.ok("GET", f"/v1/api-keys/{created['id']}")["last_used_at"] is not None

    response = api.delete(f"/v1/api-keys/{created['id']}")
    assert response.status_code == 204 and response.content == b""
    for method, path in (("GET", "/v1/users"), ("GET", "/v1/api-keys"), ("POST", "/v1/api-keys")):
        exact(
            new.http.request(method, path, json={"name": "x"}),
            401,
            {"code": "UNAUTHORIZED", "message": "invalid or revoked API key"},
        )
    revoked = api.ok("GET", f"/v1/api-keys/{created['id']}")
    assert revoked["revoked_at"] is not None
    assert api.delete(f"/v1/api-keys/{created['id']}").status_code == 204  # idempotent
    assert api.ok("GET", f"/v1/api-keys/{created['id']}")["revoked_at"] == revoked["revoked_at"]
    assert member.api.ok("GET", "/v1/users")  # the member's other key still works
    new.http.close()


def test_api_key_for_the_caller_by_default(api: Api) -> None:
    me = api.ok("GET", "/v1/users")[0]
    created = api.ok("POST", "/v1/api-keys", json={"name": "mine"})
    assert created["user_id"] == me["id"]
    assert api.delete(f"/v1/api-keys/{created['id']}").status_code == 204
    error(api.post("/v1/api-keys", json={}), 422, "VALIDATION_ERROR", "name: Field required")
    error(api.post("/v1/api-keys", json={"name": ""}), 422, "VALIDATION_ERROR")
    not_found(api.post("/v1/api-keys", json={"name": "x", "user_id": "user_missing"}), "user", "user_missing")


# --- members and admins -----------------------------------------------------------------------
def test_member_permissions(server: Server, api: Api, member: Member) -> None:
    m = member.api
    admin_user = api.ok("GET", "/v1/users")[0]
    admin_key = api.ok("POST", "/v1/api-keys", json={"name": f"admin-{uid()}"})

    # users: read yes, write no
    assert member.user["id"] in [u["id"] for u in m.ok("GET", "/v1/users")]
    assert m.ok("GET", f"/v1/users/{admin_user['id']}")["id"] == admin_user["id"]
    exact(m.post("/v1/users", json={"email": f"m-{uid()}@example.com"}), 403, ADMIN_ONLY)
    exact(m.patch(f"/v1/users/{member.user['id']}", json={"role": "admin"}), 403, ADMIN_ONLY)
    exact(m.delete(f"/v1/users/{admin_user['id']}"), 403, ADMIN_ONLY)

    # API keys: their own only
    own = m.ok("POST", "/v1/api-keys", json={"name": "own"})
    assert own["user_id"] == member.user["id"]
    also_own = m.ok("POST", "/v1/api-keys", json={"name": "own too", "user_id": member.user["id"]})
    assert also_own["user_id"] == member.user["id"]
    exact(
        m.post("/v1/api-keys", json={"name": "theirs", "user_id": admin_user["id"]}),
        403,
        {"code": "FORBIDDEN", "message": "members create API keys only for themselves"},
    )
    listed = m.ok("GET", "/v1/api-keys")
    assert {k["user_id"] for k in listed} == {member.user["id"]}
    assert {own["id"], also_own["id"]} <= {k["id"] for k in listed}
    assert admin_key["id"] not in {k["id"] for k in listed}
    assert admin_key["id"] in {k["id"] for k in api.ok("GET", "/v1/api-keys")}
    mine_only = {"code": "FORBIDDEN", "message": "members manage only their own API keys"}
    exact(m.get(f"/v1/api-keys/{admin_key['id']}"), 403, mine_only)
    exact(m.delete(f"/v1/api-keys/{admin_key['id']}"), 403, mine_only)
    assert api.ok("GET", f"/v1/api-keys/{admin_key['id']}")["revoked_at"] is None
    assert m.delete(f"/v1/api-keys/{own['id']}").status_code == 204
    assert m.delete(f"/v1/api-keys/{also_own['id']}").status_code == 204
    assert api.delete(f"/v1/api-keys/{admin_key['id']}").status_code == 204  # admins revoke any key

    # skills, tools, MCP servers: read yes, write no
    skill = api.ok("POST", "/v1/skills", json={"name": f"s{uid()}", "version": "1.0.0", "schema": SCHEMA})
    tool = api.ok("POST", "/v1/tools", json={"name": f"t{uid()}", "schema": SCHEMA})
    mcp = api.ok("POST", "/v1/mcp-servers", json={"name": f"m{uid()}", "command": "srv"})
    for path, row, create in (
        ("/v1/skills", skill, {"name": f"s{uid()}", "version": "1", "schema": {}}),
        ("/v1/tools", tool, {"name": f"t{uid()}", "schema": {}}),
        ("/v1/mcp-servers", mcp, {"name": f"m{uid()}", "command": "srv"}),
    ):
        assert row["id"] in [r["id"] for r in m.ok("GET", path)]
        assert m.ok("GET", f"{path}/{row['id']}") == row
        exact(m.post(path, json=create), 403, ADMIN_ONLY)
        exact(
            m.patch(f"{path}/{row['id']}", json={"description": "x"} if path != "/v1/mcp-servers" else {}),
            403,
            ADMIN_ONLY,
        )
        exact(m.delete(f"{path}/{row['id']}"), 403, ADMIN_ONLY)
        assert api.ok("GET", f"{path}/{row['id']}") == row


# --- skills -------------------------------------------------------------------------------
def test_skills_crud_and_versions(api: Api) -> None:
    name = f"search_{uid()}"
    response = api.post(
        "/v1/skills",
        json={"name": name, "description": "Searches", "version": "1.0.0", "schema": SCHEMA, "config": {"limit": 5}},
    )
    assert response.status_code == 201, response.text
    v1 = response.json()
    assert set(v1) == {"id", "name", "description", "version", "source", "schema", "config", "is_active", "created_at"}
    assert (v1["name"], v1["version"], v1["schema"], v1["config"], v1["is_active"], v1["source"]) == (
        name,
        "1.0.0",
        SCHEMA,
        {"limit": 5},
        True,
        "local",
    )
    v2 = api.ok("POST", "/v1/skills", json={"name": name, "version": "2.0.0", "schema": {"type": "object"}})
    assert v2["id"] != v1["id"] and v2["description"] is None

    assert {s["id"] for s in api.ok("GET", "/v1/skills", params={"name": name})} == {v1["id"], v2["id"]}
    assert api.ok("GET", f"/v1/skills/{v1['id']}") == v1

    exact(
        api.post("/v1/skills", json={"name": name, "version": "1.0.0", "schema": {}}),
        409,
        {
            "code": "SKILL_VERSION_EXISTS",
            "message": f"skill {name} version 1.0.0 already exists in this organisation",
            "details": {"name": name, "version": "1.0.0"},
        },
    )

    off = api.ok("PATCH", f"/v1/skills/{v1['id']}", json={"is_active": False, "description": "Old"})
    assert (off["is_active"], off["description"], off["schema"]) == (False, "Old", SCHEMA)
    assert [s["id"] for s in api.ok("GET", "/v1/skills", params={"name": name, "active": "true"})] == [v2["id"]]
    assert [s["id"] for s in api.ok("GET", "/v1/skills", params={"name": name, "active": "false"})] == [v1["id"]]
    error(api.get("/v1/skills", params={"active": "maybe"}), 422, "VALIDATION_ERROR")
    error(
        api.patch(f"/v1/skills/{v1['id']}", json={"version": "3"}),
        422,
        "VALIDATION_ERROR",
        "version: Extra inputs are not permitted",
    )
    error(
        api.patch(f"/v1/skills/{v1['id']}", json={"is_active": None}),
        422,
        "VALIDATION_ERROR",
        "Value error, is_active may not be null",
    )

    assert api.delete(f"/v1/skills/{v1['id']}").status_code == 204
    not_found(api.get(f"/v1/skills/{v1['id']}"), "skill", v1["id"])
    assert [s["id"] for s in api.ok("GET", "/v1/skills", params={"name": name})] == [v2["id"]]
    assert api.delete(f"/v1/skills/{v2['id']}").status_code == 204


def test_skills_refuse_invalid_input(api: Api) -> None:
    body = error(
        api.post("/v1/skills", json={"name": f"bad_{uid()}", "version": "1", "schema": {"type": 5}}),
        422,
        "VALIDATION_ERROR",
    )
    assert body["message"].startswith("schema: not a valid JSON Schema at /type: 5 is not valid under")
    assert body["details"]["field"] == "schema" and body["details"]["path"] == ["type"]
    assert body["details"]["reason"].startswith("5 is not valid under")
    body = error(
        api.post(
            "/v1/skills",
            json={"name": f"bad_{uid()}", "version": "1", "schema": {"properties": {"q": {"minLength": -1}}}},
        ),
        422,
        "VALIDATION_ERROR",
    )
    assert body["details"]["path"] == ["properties", "q", "minLength"]
    error(
        api.post("/v1/skills", json={"name": f"bad_{uid()}", "version": "1"}),
        422,
        "VALIDATION_ERROR",
        "schema: Field required",
    )
    error(api.post("/v1/skills", json={"name": "has space", "version": "1", "schema": {}}), 422, "VALIDATION_ERROR")
    error(api.post("/v1/skills", json={"name": f"ok_{uid()}", "version": "", "schema": {}}), 422, "VALIDATION_ERROR")


# --- tools --------------------------------------------------------------------------------
def test_tools_crud(api: Api) -> None:
    name = f"deploy_{uid()}"
    response = api.post(
        "/v1/tools", json={"name": name, "description": "Deploys", "schema": SCHEMA, "destructive": True}
    )
    assert response.status_code == 201, response.text
    tool = response.json()
    assert set(tool) == {"id", "name", "description", "schema", "destructive", "metadata", "created_at"}
    assert (tool["name"], tool["schema"], tool["destructive"], tool["metadata"]) == (name, SCHEMA, True, {})
    assert tool["id"] in [t["id"] for t in api.ok("GET", "/v1/tools")]
    assert api.ok("GET", f"/v1/tools/{tool['id']}") == tool

    exact(
        api.post("/v1/tools", json={"name": name, "schema": {}}),
        409,
        {
            "code": "TOOL_EXISTS",
            "message": f"a tool named {name} already exists in this organisation",
            "details": {"field": "name"},
        },
    )
    second = api.ok("POST", "/v1/tools", json={"name": f"other_{uid()}", "schema": {}})
    assert second["destructive"] is False
    exact(
        api.patch(f"/v1/tools/{second['id']}", json={"name": name}),
        409,
        {
            "code": "TOOL_EXISTS",
            "message": f"a tool named {name} already exists in this organisation",
            "details": {"field": "name"},
        },
    )
    body = error(
        api.post("/v1/tools", json={"name": f"t{uid()}", "schema": {"required": "q"}}), 422, "VALIDATION_ERROR"
    )
    assert body["details"]["path"] == ["required"]
    error(api.patch(f"/v1/tools/{tool['id']}", json={"schema": {"type": "nope"}}), 422, "VALIDATION_ERROR")

    patched = api.ok(
        "PATCH",
        f"/v1/tools/{tool['id']}",
        json={"destructive": False, "schema": {"type": "object"}, "metadata": {"team": "ops"}, "name": name},
    )
    assert (patched["destructive"], patched["schema"], patched["metadata"]) == (
        False,
        {"type": "object"},
        {"team": "ops"},
    )
    for row in (tool, second):
        assert api.delete(f"/v1/tools/{row['id']}").status_code == 204
        not_found(api.get(f"/v1/tools/{row['id']}"), "tool", row["id"])


# --- MCP servers ----------------------------------------------------------------------------
def test_mcp_servers_crud_never_show_secrets(api: Api) -> None:
    name = f"files-{uid()}"
    secret, token = f"s3cr3t-{uid()}", f"Bearer tok-{uid()}"
    response = api.post(
        "/v1/mcp-servers",
        json={
            "name": name,
            "transport": "stdio",
            "command": "npx",
            "args": ["-y", "server-files"],
            "env": {"API_TOKEN": secret, "HOME": "/tmp"},
            "headers": {"Authorization": token},
            "metadata": {"a": 1},
        },
    )
    assert response.status_code == 201, response.text
    server = response.json()
    assert server == {
        "id": server["id"],
        "name": name,
        "transport": "stdio",
        "command": "npx",
        "args": ["-y", "server-files"],
        "url": None,
        "env_keys": ["API_TOKEN", "HOME"],
        "header_keys": ["Authorization"],
        "metadata": {"a": 1},
        "created_at": server["created_at"],
    }
    for text in (response.text, api.get("/v1/mcp-servers").text, api.get(f"/v1/mcp-servers/{server['id']}").text):
        assert secret not in text and token not in text
    assert api.ok("GET", f"/v1/mcp-servers/{server['id']}") == server

    exact(
        api.post("/v1/mcp-servers", json={"name": name, "command": "x"}),
        409,
        {
            "code": "MCP_SERVER_EXISTS",
            "message": f"an MCP server named {name} already exists in this organisation",
            "details": {"field": "name"},
        },
    )

    patched = api.ok("PATCH", f"/v1/mcp-servers/{server['id']}", json={"env": {"OTHER": "1"}})
    assert (patched["env_keys"], patched["header_keys"], patched["command"]) == (["OTHER"], ["Authorization"], "npx")
    exact(
        api.patch(f"/v1/mcp-servers/{server['id']}", json={"transport": "http"}),
        422,
        {"code": "VALIDATION_ERROR", "message": "url: required by the http transport", "details": {"field": "url"}},
    )
    exact(
        api.patch(f"/v1/mcp-servers/{server['id']}", json={"command": None}),
        422,
        {
            "code": "VALIDATION_ERROR",
            "message": "command: required by the stdio transport",
            "details": {"field": "command"},
        },
    )
    http = api.ok(
        "PATCH",
        f"/v1/mcp-servers/{server['id']}",
        json={"transport": "http", "url": "https://mcp.example.com/mcp", "headers": {}},
    )
    assert (http["transport"], http["url"], http["header_keys"]) == ("http", "https://mcp.example.com/mcp", [])

    assert api.delete(f"/v1/mcp-servers/{server['id']}").status_code == 204
    not_found(api.get(f"/v1/mcp-servers/{server['id']}"), "MCP server", server["id"])
    assert server["id"] not in [s["id"] for s in api.ok("GET", "/v1/mcp-servers")]


def test_mcp_servers_refuse_invalid_input(api: Api) -> None:
    exact(
        api.post("/v1/mcp-servers", json={"name": f"a{uid()}", "transport": "stdio"}),
        422,
        {
            "code": "VALIDATION_ERROR",
            "message": "command: required by the stdio transport",
            "details": {"field": "command"},
        },
    )
    exact(
        api.post("/v1/mcp-servers", json={"name": f"a{uid()}", "transport": "http", "command": "x"}),
        422,
        {"code": "VALIDATION_ERROR", "message": "url: required by the http transport", "details": {"field": "url"}},
    )
    for name in ("has space", "", "x" * 65, "semi;colon"):
        body = error(api.post("/v1/mcp-servers", json={"name": name, "command": "x"}), 422, "VALIDATION_ERROR")
        assert body["details"][0]["loc"] == ["body", "name"]
    error(
        api.post("/v1/mcp-servers", json={"name": f"a{uid()}", "transport": "sse", "url": "https://x"}),
        422,
        "VALIDATION_ERROR",
    )
    error(
        api.post("/v1/mcp-servers", json={"name": f"a{uid()}", "transport": "http", "url": "ftp://x"}),
        422,
        "VALIDATION_ERROR",
    )
    error(
        api.post("/v1/mcp-servers", json={"name": f"a{uid()}", "command": "x", "env": {"A": 1}}),
        422,
        "VALIDATION_ERROR",
    )
    ok = api.ok("POST", "/v1/mcp-servers", json={"name": f"a-{uid()}", "transport": "http", "url": "http://h:1/m"})
    assert (ok["command"], ok["args"], ok["env_keys"], ok["header_keys"]) == (None, [], [], [])
    assert api.delete(f"/v1/mcp-servers/{ok['id']}").status_code == 204


# --- no client mistake is a 500 ---------------------------------------------------------------
def test_unstorable_input_is_a_422_not_a_500(api: Api) -> None:
    nul = "a\u0000b"
    for path, body in (
        ("/v1/users", {"email": f"x-{uid()}@example.com", "name": nul}),
        ("/v1/skills", {"name": f"s{uid()}", "version": "1", "schema": {"description": nul}}),
        ("/v1/tools", {"name": f"t{uid()}", "schema": {}, "metadata": {nul: 1}}),
        ("/v1/mcp-servers", {"name": f"m{uid()}", "command": "x", "env": {"A": nul}}),
        ("/v1/api-keys", {"name": nul}),
    ):
        error(
            api.post(path, json=body),
            422,
            "VALIDATION_ERROR",
            "Value error, strings may not contain NUL (\\u0000) characters",
        )
    response = api.post(
        "/v1/tools",
        content=b'{"name": "nan_tool", "schema": {"maximum": NaN}}',
        headers={"content-type": "application/json"},
    )
    error(response, 422, "VALIDATION_ERROR", "Value error, numbers must be finite (no NaN or Infinity)")
    deep: dict[str, Any] = {}
    for _ in range(200):
        deep = {"not": deep}
    error(
        api.post("/v1/skills", json={"name": f"s{uid()}", "version": "1", "schema": deep}),
        422,
        "VALIDATION_ERROR",
        "Value error, nested deeper than 64 levels",
    )
    for path in ("/v1/users", "/v1/api-keys", "/v1/skills", "/v1/tools", "/v1/mcp-servers"):
        error(api.get(f"{path}/a%00b"), 422, "VALIDATION_ERROR")
        not_found(
            api.get(f"{path}/{'x' * 300}"),
            {
                "/v1/users": "user",
                "/v1/api-keys": "API key",
                "/v1/skills": "skill",
                "/v1/tools": "tool",
                "/v1/mcp-servers": "MCP server",
            }[path],
            "x" * 300,
        )
    error(api.get("/v1/skills", params={"name": nul}), 422, "VALIDATION_ERROR")
    error(
        api.post("/v1/users", content=b"not json", headers={"content-type": "application/json"}),
        422,
        "VALIDATION_ERROR",
    )


# --- organisations are walls --------------------------------------------------------------------
def test_another_organisation_sees_nothing(api: Api, member: Member, other: tuple[dict[str, str], Api]) -> None:
    org, them = other
    mine = {
        "/v1/users": member.user,
        "/v1/api-keys": api.ok("POST", "/v1/api-keys", json={"name": f"k{uid()}"}),
        "/v1/skills": api.ok("POST", "/v1/skills", json={"name": f"s{uid()}", "version": "1", "schema": {}}),
        "/v1/tools": api.ok("POST", "/v1/tools", json={"name": f"t{uid()}", "schema": {}}),
        "/v1/mcp-servers": api.ok(
            "POST", "/v1/mcp-servers", json={"name": f"m{uid()}", "command": "srv", "env": {"K": "v"}}
        ),
    }
    what = {
        "/v1/users": "user",
        "/v1/api-keys": "API key",
        "/v1/skills": "skill",
        "/v1/tools": "tool",
        "/v1/mcp-servers": "MCP server",
    }
    patches = {
        "/v1/users": {"name": "pwned"},
        "/v1/api-keys": None,
        "/v1/skills": {"description": "pwned"},
        "/v1/tools": {"description": "pwned"},
        "/v1/mcp-servers": {"command": "pwned"},
    }
    for path, row in mine.items():
        row_id = row["id"]
        assert row_id not in [r["id"] for r in them.ok("GET", path)]
        not_found(them.get(f"{path}/{row_id}"), what[path], row_id)
        if patches[path] is not None:
            not_found(them.patch(f"{path}/{row_id}", json=patches[path]), what[path], row_id)
        not_found(them.delete(f"{path}/{row_id}"), what[path], row_id)
        # untouched in its own organisation
        assert api.ok("GET", f"{path}/{row_id}") == {k: v for k, v in row.items() if k != "key"}
    # no key for a user of another organisation, and the other way round
    not_found(them.post("/v1/api-keys", json={"name": "x", "user_id": member.user["id"]}), "user", member.user["id"])
    not_found(
        api.post("/v1/api-keys", json={"name": "x", "user_id": org["admin_user_id"]}), "user", org["admin_user_id"]
    )
    # the same names are free in another organisation
    them.ok("POST", "/v1/users", json={"email": member.user["email"]})
    them.ok("POST", "/v1/tools", json={"name": mine["/v1/tools"]["name"], "schema": {}})
    them.ok("POST", "/v1/mcp-servers", json={"name": mine["/v1/mcp-servers"]["name"], "command": "x"})
    them.ok("POST", "/v1/skills", json={"name": mine["/v1/skills"]["name"], "version": "1", "schema": {}})
    assert api.delete(f"/v1/api-keys/{mine['/v1/api-keys']['id']}").status_code == 204
