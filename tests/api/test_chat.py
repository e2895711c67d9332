"""Chat over SSE against a real server, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.server import Api, Server

CALC_PLAN = {"steps": [{"id": "s1", "capability": "calculator", "args": {"expression": "6*7"}, "depends_on": []}]}
SLOW_ANSWER = {"$delay": 1.5, "$then": "slow answer"}


def types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


def test_full_chat_streams_every_event_and_stores_the_reply(api: Api) -> None:
    agent = api.agent([CALC_PLAN, "It is 42."], skills=["calculator"])
    chat = api.session(agent["id"])
    events = api.chat(chat["id"], "What is 6*7?")

    assert types(events) == [
        "thinking",
        "run_started",
        "thinking",
        "plan",
        "step_started",
        "step_finished",
        "token",
        "token",
        "token",
        "message",
        "done",
    ]
    assert [e["seq"] for e in events] == list(range(1, 12))
    assert events[0]["data"] == {"content": "Starting agent runtime…"}
    assert events[5]["data"]["output"] == {"expression": "6*7", "result": 42}
    done = events[-1]["data"]
    run_id = events[0]["run_id"]
    assert done["sessionId"] == chat["id"] and done["runId"] == run_id

    tree = api.ok("GET", f"/v1/sessions/{chat['id']}/messages")
    user, answer = tree["messages"]
    assert (user["role"], user["content"], user["parent_id"]) == ("user", "What is 6*7?", None)
    assert (answer["role"], answer["content"], answer["parent_id"]) == ("assistant", "It is 42.", user["id"])
    assert answer["id"] == done["messageId"]
    assert user["children"] == [answer["id"]]
    assert tree["branch"] == [user["id"], answer["id"]]

    run = api.ok("GET", f"/v1/runs/{run_id}")
    assert run["status"] == "completed"
    assert run["usage"]["total_tokens"] > 0
    assert run["assistant_message_id"] == answer["id"]
    assert run["duration_ms"] >= 0
    # the whole log can be read again, identically
    assert api.events(run_id) == events


def test_too_long_message_is_refused_and_nothing_is_stored(api: Api) -> None:
    agent = api.agent([{"steps": []}, "never"])
    chat = api.session(agent["id"])
    response = api.post(f"/v1/sessions/{chat['id']}/messages", json={"message": "x" * 32_001})
    assert response.status_code == 413
    body = response.json()
    assert body["code"] == "VALIDATION_MESSAGE_TOO_LONG"
    assert body["details"] == {"length": 32_001, "limit": 32_000}
    assert api.ok("GET", f"/v1/sessions/{chat['id']}/messages")["messages"] == []
    assert api.ok("GET", f"/v1/sessions/{chat['id']}")["active_run_id"] is None


def test_dropped_stream_resumes_with_no_gap_and_no_duplicate(api: Api) -> None:
    agent = api.agent([CALC_PLAN, SLOW_ANSWER], skills=["calculator"])
    chat = api.session(agent["id"])
    first = api.chat(chat["id"], "slow please", stop_after=4)  # the client drops the connection
    run_id = first[0]["run_id"]
    assert api.ok("GET", f"/v1/runs/{run_id}")["status"] == "running"

    rest = api.events(run_id, last_event_id=first[-1]["seq"])
    combined = first + rest
    assert [e["seq"] for e in combined] == list(range(1, len(combined) + 1))
    assert types(combined)[-2:] == ["message", "done"]
    # the query-string form some reconnecting clients send
    tail = api.events(run_id, last_event_id=combined[-3]["seq"], as_query=True)
    assert tail == combined[-2:]


def test_branching_edits_and_conversation_memory(api: Api) -> None:
    agent = api.agent([{"steps": []}, "answer"])
    chat = api.session(agent["id"])
    api.chat(chat["id"], "first")
    second = api.chat(chat["id"], "second")
    assert second[2]["data"]["history_messages"] == 2  # first question and answer

    tree = api.ok("GET", f"/v1/sessions/{chat['id']}/messages")
    first_user, first_answer, second_user, _ = tree["messages"]
    # edit the second message: a new branch under the first answer
    edited = api.chat(chat["id"], "second, edited", parent=first_answer["id"])
    assert edited[2]["data"]["history_messages"] == 2
    # regenerate the first answer: a sibling of the first exchange, at the root
    root = api.chat(chat["id"], "first again", at_root=True)
    assert root[2]["data"]["history_messages"] == 0

    tree = api.ok("GET", f"/v1/sessions/{chat['id']}/messages")
    by_id = {m["id"]: m for m in tree["messages"]}
    assert len(by_id[first_answer["id"]]["children"]) == 2
    newest_edit = next(m for m in tree["messages"] if m["content"] == "second, edited")
    branch = api.ok("GET", f"/v1/sessions/{chat['id']}/messages", params={"leaf_id": newest_edit["id"]})["branch"]
    assert branch == [first_user["id"], first_answer["id"], newest_edit["id"]]
    assert second_user["id"] not in branch


def test_parent_from_another_session_is_422(api: Api) -> None:
    agent = api.agent([{"steps": []}, "a"])
    one, two = api.session(agent["id"]), api.session(agent["id"])
    api.chat(one["id"], "hello")
    foreign = api.ok("GET", f"/v1/sessions/{one['id']}/messages")["messages"][0]["id"]
    response = api.post(f"/v1/sessions/{two['id']}/messages", json={"message": "x", "parent_message_id": foreign})
    assert response.status_code == 422
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert "is not a message of this session" in response.json()["message"]
    assert api.ok("GET", f"/v1/sessions/{two['id']}/messages")["messages"] == []


def test_second_message_while_a_run_is_active_is_409(api: Api) -> None:
    agent = api.agent([{"steps": []}, SLOW_ANSWER])
    chat = api.session(agent["id"])
    started = api.chat(chat["id"], "one", stop_after=1)
    response = api.post(f"/v1/sessions/{chat['id']}/messages", json={"message": "two"})
    assert response.status_code == 409
    assert response.json()["code"] == "SESSION_BUSY"
    assert response.json()["details"] == {"run_id": started[0]["run_id"]}
    api.wait_run(started[0]["run_id"])
    assert types(api.chat(chat["id"], "three"))[-1] in ("done", "error")


def test_cancel_before_the_first_token(api: Api) -> None:
    agent = api.agent([{"$delay": 5, "$then": {"steps": []}}, "never"])
    chat = api.session(agent["id"])
    started = api.chat(chat["id"], "cancel me", stop_after=1)
    run_id = started[0]["run_id"]
    cancelled = api.ok("POST", f"/v1/runs/{run_id}/cancel")
    assert cancelled["status"] == "cancelled"
    events = api.events(run_id)
    assert "token" not in types(events)
    assert events[-1]["type"] == "error"
    assert events[-1]["data"]["code"] == "SSE_STREAM_ERROR"
    assert events[-1]["data"]["cause"]["code"] == "RUN_CANCELLED"
    again = api.post(f"/v1/runs/{run_id}/cancel")
    assert again.status_code == 409 and again.json()["code"] == "RUN_NOT_ACTIVE"


def test_failed_run_ends_with_stream_error(api: Api) -> None:
    agent = api.agent([{"steps": []}])  # the answer is missing from the script
    chat = api.session(agent["id"])
    events = api.chat(chat["id"], "hi")
    assert events[-1]["type"] == "error"
    assert events[-1]["data"]["code"] == "SSE_STREAM_ERROR"
    assert events[-1]["data"]["cause"]["code"] == "SCRIPT_EXHAUSTED"
    run = api.ok("GET", f"/v1/runs/{events[0]['run_id']}")
    assert run["status"] == "failed"
    assert run["error"]["code"] == "SCRIPT_EXHAUSTED"


def test_bad_last_event_id_and_unknown_run(api: Api) -> None:
    response = api.get("/v1/runs/run_missing/events")
    assert response.status_code == 404
    assert response.json() == {"code": "NOT_FOUND", "message": "no run run_missing"}


def test_missing_or_wrong_key_is_401(server: Server) -> None:
    assert httpx.get(f"{server.url}/v1/agents").json()["code"] == "UNAUTHORIZED"
    wrong = httpx.get(f"{server.url}/v1/agents", headers={"Authorization": "Bearer agrt_nope"})
    assert wrong.status_code == 401
    assert wrong.json() == {"code": "UNAUTHORIZED", "message": "invalid or revoked API key"}


def test_another_organisation_sees_nothing(server: Server, api: Api) -> None:
    agent = api.agent([{"steps": []}, "mine"])
    chat = api.session(agent["id"])
    events = api.chat(chat["id"], "private")
    run_id = events[0]["run_id"]
    other = server.client(server.create_org("Other org")["api_key"])
    for method, path in [
        ("GET", f"/v1/agents/{agent['id']}"),
        ("PATCH", f"/v1/agents/{agent['id']}"),
        ("DELETE", f"/v1/agents/{agent['id']}"),
        ("GET", f"/v1/sessions/{chat['id']}"),
        ("GET", f"/v1/sessions/{chat['id']}/messages"),
        ("POST", f"/v1/sessions/{chat['id']}/messages"),
        ("DELETE", f"/v1/sessions/{chat['id']}"),
        ("GET", f"/v1/runs/{run_id}"),
        ("GET", f"/v1/runs/{run_id}/events"),
        ("POST", f"/v1/runs/{run_id}/cancel"),
    ]:
        body = {"message": "x"} if path.endswith("/messages") and method == "POST" else {}
        response = other.http.request(method, path, json=body if method in ("POST", "PATCH") else None)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["code"] == "NOT_FOUND"
    create = other.post("/v1/sessions", json={"agent_id": agent["id"]})
    assert create.status_code == 404
    assert agent["id"] not in [a["id"] for a in other.ok("GET", "/v1/agents")]
    assert chat["id"] not in [s["id"] for s in other.ok("GET", "/v1/sessions")]
    other.http.close()


def test_many_concurrent_chats_all_complete(server: Server, api: Api) -> None:
    """More simultaneous streams than the connection pool's base size: none may starve."""
    from concurrent.futures import ThreadPoolExecutor

    agent = api.agent([{"steps": []}, {"$delay": 0.3, "$then": "together"}])
    sessions = [api.session(agent["id"])["id"] for _ in range(30)]

    def chat(session_id: str) -> str:
        client = server.client()
        try:
            return client.chat(session_id, "hi")[-1]["type"]
        finally:
            client.http.close()

    with ThreadPoolExecutor(max_workers=30) as pool:
        endings = list(pool.map(chat, sessions))
    assert endings == ["done"] * 30
