"""MCP servers' secrets: encrypted at rest, never returned, redacted in stored run contexts."""

from __future__ import annotations

import json

from sqlalchemy import create_engine, text

from agentrt.store.db import sync_url
from tests.api.server import Api, Server

SECRET = "s3cret-token-do-not-leak"


def stored(server: Server, sql: str, **params: str) -> list[str]:
    engine = create_engine(sync_url(server.database_url))
    try:
        with engine.connect() as conn:
            return [
                json.dumps(row[0]) if not isinstance(row[0], str) else row[0] for row in conn.execute(text(sql), params)
            ]
    finally:
        engine.dispose()


def test_secrets_are_encrypted_and_never_returned(server: Server, api: Api) -> None:
    created = api.ok(
        "POST",
        "/v1/mcp-servers",
        json={
            "name": "vault",
            "transport": "http",
            "url": "http://127.0.0.1:9/mcp",
            "env": {"TOKEN": SECRET},
            "headers": {"Authorization": f"Bearer {SECRET}"},
        },
    )
    assert created["env_keys"] == ["TOKEN"] and created["header_keys"] == ["Authorization"]
    assert SECRET not in json.dumps(api.ok("GET", f"/v1/mcp-servers/{created['id']}"))
    assert SECRET not in json.dumps(api.ok("GET", "/v1/mcp-servers"))

    [env] = stored(server, "SELECT env FROM mcp_servers WHERE id = :id", id=created["id"])
    [headers] = stored(server, "SELECT headers FROM mcp_servers WHERE id = :id", id=created["id"])
    assert SECRET not in env and SECRET not in headers
    assert json.loads(env)["TOKEN"].startswith("enc:v1:")

    api.ok("PATCH", f"/v1/mcp-servers/{created['id']}", json={"env": {"TOKEN": SECRET + "2"}})
    [env] = stored(server, "SELECT env FROM mcp_servers WHERE id = :id", id=created["id"])
    assert SECRET not in env

    agent = api.agent([{"steps": []}, "ok"], mcp_servers=[created["id"]])
    events = api.chat(api.session(agent["id"])["id"], "hi")
    [context] = stored(server, "SELECT context FROM runs WHERE id = :id", id=events[0]["run_id"])
    assert SECRET not in context
    assert json.loads(context)["available_mcp_servers"][0]["env"] == {"TOKEN": "<redacted>"}
    assert SECRET not in server.log()
