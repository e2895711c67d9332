"""The seed's models read exactly what the seed's API emits."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from agentrt import RuntimeSessionContext
from agentrt.llm import parse_model_spec
from tests.conftest import load_seed_context


def test_full_seed_context_round_trips() -> None:
    data = load_seed_context("full")
    ctx = RuntimeSessionContext.model_validate(data)
    assert ctx.agent_config.model == "gpt-4o-mini"
    assert ctx.available_skills[0].input_schema["required"] == ["expression"]
    assert ctx.available_skills[1].input_schema == {}
    assert ctx.runtime_policy.high_risk_tools == ["code_run", "shell_exec", "file_write"]
    assert ctx.model_dump(mode="json") == data


def test_minimal_seed_context_takes_the_defaults() -> None:
    ctx = RuntimeSessionContext.model_validate(load_seed_context("minimal"))
    assert ctx.agent_config.model is None
    assert ctx.agent_config.description is None
    assert (ctx.agent_config.temperature, ctx.agent_config.max_tokens) == (0.7, 4096)


def test_policy_defaults_match_the_seed() -> None:
    data = load_seed_context("minimal")
    del data["runtime_policy"]
    policy = RuntimeSessionContext.model_validate(data).runtime_policy
    assert policy.model_dump() == {
        "max_iterations": 10,
        "max_replan_attempts": 3,
        "enable_parallel_execution": True,
        "enable_delegation": True,
        "require_approval_for_high_risk": True,
        "high_risk_tools": ["code_run", "shell_exec", "file_write"],
        "metadata": {},
    }


@pytest.mark.parametrize(
    ("mutate", "location"),
    [
        (lambda d: d.pop("session_id"), ("session_id",)),
        (lambda d: d["agent_config"].update(temperature="hot"), ("agent_config", "temperature")),
        (lambda d: d["available_skills"][0].pop("name"), ("available_skills", 0, "name")),
        (lambda d: d["runtime_policy"].update(max_iterations="10"), ("runtime_policy", "max_iterations")),
    ],
)
def test_missing_or_wrong_typed_field_is_named(mutate, location) -> None:  # type: ignore[no-untyped-def]
    data = load_seed_context("full")
    mutate(data)
    with pytest.raises(ValidationError) as exc:
        RuntimeSessionContext.model_validate(data)
    assert [e["loc"] for e in exc.value.errors()] == [location]


@pytest.mark.parametrize(
    ("spec", "provider", "model"),
    [
        ("gpt-4o-mini", "openai", "gpt-4o-mini"),
        ("o3-mini", "openai", "o3-mini"),
        ("claude-3-5-sonnet", "anthropic", "claude-3-5-sonnet"),
        ("openai:llama3", "openai", "llama3"),
        ("scripted", "scripted", "scripted"),
        ("local:/models/x.gguf", "local", "/models/x.gguf"),
        (None, "scripted", "scripted"),
        ("mistral-7b", "scripted", "mistral-7b"),
    ],
)
def test_model_names_pick_their_provider(
    spec: str | None, provider: str, model: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTRT_DEFAULT_MODEL", "scripted")
    parsed = parse_model_spec(spec)
    assert (parsed.provider, parsed.model) == (provider, model)


def test_without_a_configured_model_the_local_one_is_the_default_when_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from agentrt.llm import _resolve

    monkeypatch.delenv("AGENTRT_DEFAULT_MODEL", raising=False)
    monkeypatch.setattr(_resolve, "local_model_installed", lambda: True)
    assert parse_model_spec(None) == _resolve.ModelSpec("local", "local")
    monkeypatch.setattr(_resolve, "local_model_installed", lambda: False)
    assert parse_model_spec(None) == _resolve.ModelSpec("scripted", "scripted")
