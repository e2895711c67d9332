"""What survives a server restart: the event log, and runs never left 'running'."""

from __future__ import annotations

from tests.api.server import Server


def test_run_interrupted_by_killing_the_server_ends_failed(fresh_server: Server) -> None:
    api = fresh_server.client()
    agent = api.agent([{"steps": []}, {"$delay": 30, "$then": "never"}])
    chat = api.session(agent["id"])
    seen = api.chat(chat["id"], "long one", stop_after=3)
    run_id = seen[0]["run_id"]
    api.http.close()

    fresh_server.restart(kill=True)  # SIGKILL: no chance to clean up
    api = fresh_server.client()
    run = api.ok("GET", f"/v1/runs/{run_id}")
    assert run["status"] == "failed"
    assert run["error"]["code"] == "RUN_INTERRUPTED"
    events = api.events(run_id, last_event_id=seen[-1]["seq"])
    assert events[-1]["type"] == "error"
    assert events[-1]["data"]["cause"]["code"] == "RUN_INTERRUPTED"
    assert [e["seq"] for e in seen + events] == list(range(1, len(seen) + len(events) + 1))
    # the session is usable again
    assert api.ok("GET", f"/v1/sessions/{chat['id']}")["active_run_id"] is None
    api.http.close()


def test_graceful_stop_also_ends_running_runs(fresh_server: Server) -> None:
    api = fresh_server.client()
    agent = api.agent([{"steps": []}, {"$delay": 30, "$then": "never"}])
    chat = api.session(agent["id"])
    run_id = api.chat(chat["id"], "long one", stop_after=2)[0]["run_id"]
    api.http.close()
    fresh_server.restart()
    api = fresh_server.client()
    assert api.ok("GET", f"/v1/runs/{run_id}")["status"] == "failed"
    api.http.close()
