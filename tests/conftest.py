from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from agentrt import RuntimeSessionContext
from agentrt.runtime.runner import AgentRuntime, checkpoint_serializer

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO.parent / "shared" / "fixtures"


def load_seed_context(name: str = "full") -> dict[str, Any]:
    """A context exactly as the seed's buildRuntimeSessionContext emits it."""
    return json.loads((FIXTURES / f"seed-context-{name}.json").read_text())


def scripted_context(
    script: list[Any],
    *,
    name: str = "full",
    policy: dict[str, Any] | None = None,
    tools: list[dict[str, Any]] | None = None,
    **metadata: Any,
) -> dict[str, Any]:
    data = load_seed_context(name)
    data["agent_config"]["model"] = "scripted"
    data["agent_config"]["metadata"] = {"script": script, **metadata}
    if policy:
        data["runtime_policy"].update(policy)
    if tools is not None:
        data["available_tools"] = tools
    return data


def plan(*steps: tuple[str, str, dict[str, Any]] | tuple[str, str, dict[str, Any], list[str]]) -> dict[str, Any]:
    """``plan(("s1", "calculator", {"expression": "1+1"}), ("s2", "x", {}, ["s1"]))``"""
    return {
        "steps": [
            {"id": s[0], "capability": s[1], "args": s[2], "depends_on": list(s[3]) if len(s) > 3 else []}
            for s in steps
        ]
    }


@pytest.fixture(autouse=True)
def _scripted_default_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests do not depend on whether the built-in local model is installed: agents without a
    model use the scripted provider unless a test says otherwise."""
    monkeypatch.setenv("AGENTRT_DEFAULT_MODEL", "scripted")


@pytest.fixture
def make_context() -> Callable[..., RuntimeSessionContext]:
    def build(script: list[Any], **kwargs: Any) -> RuntimeSessionContext:
        return RuntimeSessionContext.model_validate(scripted_context(script, **kwargs))

    return build


@pytest.fixture
async def runtime_factory(tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    """Opens AgentRuntimes on one SQLite checkpoint file; each is a separate connection,
    as a restarted process would have."""
    opened: list[Any] = []
    db = tmp_path / "checkpoints.sqlite"

    async def open_runtime(services: dict[str, Any] | None = None) -> AgentRuntime:
        manager = AsyncSqliteSaver.from_conn_string(str(db))
        saver = await manager.__aenter__()
        saver.serde = checkpoint_serializer()
        opened.append(manager)
        return AgentRuntime(saver, services)

    yield open_runtime
    for manager in reversed(opened):
        await manager.__aexit__(None, None, None)
