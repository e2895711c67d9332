"""Long-term memory per user × agent: saved with `remember`, recalled for related messages only."""

from __future__ import annotations

from typing import Any

from tests.api.server import Api, Server

REMEMBER = {
    "steps": [
        {
            "id": "m1",
            "capability": "remember",
            "args": {"fact": "The user's favourite colour is teal"},
            "depends_on": [],
        }
    ]
}


def recalled(events: list[dict[str, Any]]) -> int:
    thinking = [e for e in events if e["type"] == "thinking" and "recalled_memories" in e["data"]]
    return int(thinking[0]["data"]["recalled_memories"])


def test_remembered_fact_is_recalled_for_the_same_user_and_agent_only(server: Server, api: Api) -> None:
    agent = api.agent([REMEMBER, "Noted."])
    recall_agent_script = [{"steps": []}, "ok"]
    api.chat(api.session(agent["id"])["id"], "remember my favourite colour: teal")
    [memory] = api.ok("GET", "/v1/memories", params={"agent_id": agent["id"]})
    assert memory["content"] == "The user's favourite colour is teal"

    # a new session of the same user and agent: recalled for a related message, not for an unrelated one
    api.ok("PATCH", f"/v1/agents/{agent['id']}", json={"metadata": {"script": recall_agent_script}})
    related = api.chat(api.session(agent["id"])["id"], "which colour do I like?")
    assert recalled(related) == 1
    unrelated = api.chat(api.session(agent["id"])["id"], "what is the weather")
    assert recalled(unrelated) == 0

    # another agent of the same user: nothing
    other_agent = api.agent(recall_agent_script)
    assert recalled(api.chat(api.session(other_agent["id"])["id"], "which colour do I like?")) == 0

    # another user of the same organisation: nothing
    member = api.ok("POST", "/v1/users", json={"email": "memory-member@example.com", "role": "member"})
    key = api.ok("POST", "/v1/api-keys", json={"name": "m", "user_id": member["id"]})["key"]
    member_api = server.client(key)
    assert recalled(member_api.chat(member_api.session(agent["id"])["id"], "which colour do I like?")) == 0
    assert member_api.ok("GET", "/v1/memories") == []
    assert member_api.delete(f"/v1/memories/{memory['id']}").status_code == 404
    member_api.http.close()

    # forgetting it
    assert api.delete(f"/v1/memories/{memory['id']}").status_code == 204
    assert recalled(api.chat(api.session(agent["id"])["id"], "which colour do I like?")) == 0
