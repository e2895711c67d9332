"""OpenAICompatibleProvider against a real HTTP server speaking OpenAI's wire format."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from agentrt.errors import ProviderError
from agentrt.llm import ChatMessage, LLMProvider, LLMRequest, StreamChunk, Usage
from agentrt.llm.openai import OpenAICompatibleProvider, parse_json_object
from tests.llm.openai_wire_server import OpenAIWireServer, Reply, completion, error, stream

API_KEY = "sk-test-SECRET123"
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"answer": {"type": "string"}, "score": {"type": "integer"}},
    "required": ["answer"],
}


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "AGENTRT_LLM_TIMEOUT",
        "AGENTRT_OPENAI_JSON_MODE",
        "OPENAI_CUSTOM_HEADERS",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
async def server() -> AsyncIterator[OpenAIWireServer]:
    async with OpenAIWireServer(API_KEY) as running:
        yield running


def provider(server: OpenAIWireServer, **kwargs: Any) -> OpenAICompatibleProvider:
    kwargs.setdefault("api_key", API_KEY)
    kwargs.setdefault("timeout", 5.0)
    return OpenAICompatibleProvider("test-model", base_url=server.base_url, **kwargs)


def request(*, temperature: float = 0.3, max_tokens: int = 321, schema: bool = False) -> LLMRequest:
    return LLMRequest(
        messages=(ChatMessage("system", "You are terse."), ChatMessage("user", "Say hi.")),
        temperature=temperature,
        max_tokens=max_tokens,
        response_schema=SCHEMA if schema else None,
        schema_name="greeting",
    )


async def collect(chunks: AsyncIterator[StreamChunk]) -> list[StreamChunk]:
    return [item async for item in chunks]


def assert_no_key(exc: BaseException) -> None:
    assert API_KEY not in str(exc)
    assert API_KEY not in repr(exc)
    if isinstance(exc, ProviderError):
        assert API_KEY not in exc.reason
        assert API_KEY not in json.dumps(exc.to_dict())
    assert exc.__cause__ is None
    assert exc.__context__ is None


# -- streaming -----------------------------------------------------------------------


async def test_stream_text_yields_deltas_then_usage(server: OpenAIWireServer) -> None:
    server.queue(stream("Hel", "lo", ", world"))
    llm = provider(server)
    assert isinstance(llm, LLMProvider)

    chunks = await collect(llm.stream_text(request(temperature=0.25, max_tokens=77)))

    assert [c.text for c in chunks[:-1]] == ["Hel", "lo", ", world"]
    assert all(c.usage is None for c in chunks[:-1])
    assert chunks[-1] == StreamChunk(usage=Usage(5, 3))
    sent = server.requests[0]
    assert sent.headers["authorization"] == f"Bearer {API_KEY}"
    assert sent.body["model"] == "test-model"
    assert sent.body["stream"] is True
    assert sent.body["stream_options"] == {"include_usage": True}
    assert sent.body["temperature"] == 0.25
    assert sent.body["max_tokens"] == 77
    assert sent.body["messages"] == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Say hi."},
    ]
    assert "response_format" not in sent.body


async def test_stream_without_usage_ends_with_zero_usage(server: OpenAIWireServer) -> None:
    server.queue(stream("just text", usage=None))
    chunks = await collect(provider(server).stream_text(request()))
    assert [c.text for c in chunks] == ["just text", ""]
    assert chunks[-1].usage == Usage(0, 0)


async def test_stream_error_status_is_provider_error(server: OpenAIWireServer) -> None:
    server.queue(error(400, "max_tokens is too large"))
    with pytest.raises(ProviderError) as caught:
        await collect(provider(server).stream_text(request()))
    assert "HTTP 400" in caught.value.reason
    assert "max_tokens is too large" in caught.value.reason
    assert_no_key(caught.value)


async def test_stream_error_event_is_provider_error(server: OpenAIWireServer) -> None:
    server.queue(Reply(sse=[{"error": {"message": "model overloaded mid-stream"}}]))
    with pytest.raises(ProviderError, match="model overloaded mid-stream"):
        await collect(provider(server).stream_text(request()))


async def test_stream_that_stalls_midway_times_out(server: OpenAIWireServer) -> None:
    server.queue(stream("first", "never sent", stall_after=2))
    llm = provider(server, timeout=0.5, max_retries=0)
    seen: list[str] = []
    started = time.monotonic()
    with pytest.raises(ProviderError, match="timed out") as caught:
        async for item in llm.stream_text(request()):
            seen.append(item.text)
    assert time.monotonic() - started < 3
    assert seen == ["first"]
    assert_no_key(caught.value)


async def test_stream_abandoned_early_closes_cleanly(server: OpenAIWireServer) -> None:
    server.queue(stream("one", "two", "three"), stream("again"))
    llm = provider(server)
    chunks = llm.stream_text(request())
    first = await anext(chunks)
    assert first.text == "one"
    await chunks.aclose()  # type: ignore[attr-defined]
    # The provider still works afterwards, and the server saw both calls.
    assert [c.text for c in await collect(llm.stream_text(request()))] == ["again", ""]
    assert server.request_count == 2


async def test_stream_cancelled_midway_closes_cleanly(server: OpenAIWireServer) -> None:
    server.queue(stream("first", "never", stall_after=2))
    llm = provider(server, timeout=10)
    got_first = asyncio.Event()

    async def consume() -> None:
        async for item in llm.stream_text(request()):
            if item.text:
                got_first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(got_first.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_stream_with_malformed_event_is_provider_error(server: OpenAIWireServer) -> None:
    server.queue(Reply(sse=["this is not json"]))
    with pytest.raises(ProviderError, match="malformed stream event"):
        await collect(provider(server).stream_text(request()))


# -- structured answers --------------------------------------------------------------


async def test_generate_structured_sends_json_schema_and_parses(server: OpenAIWireServer) -> None:
    server.queue(completion(json.dumps({"answer": "hi", "score": 3}), prompt_tokens=20, completion_tokens=9))

    result = await provider(server).generate_structured(request(schema=True, temperature=0.0, max_tokens=500))

    assert result.data == {"answer": "hi", "score": 3}
    assert result.usage == Usage(20, 9)
    sent = server.requests[0].body
    assert sent["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "greeting", "schema": SCHEMA, "strict": False},
    }
    assert sent["temperature"] == 0.0
    assert sent["max_tokens"] == 500
    assert "stream" not in sent or sent["stream"] is False
    assert server.requests[0].headers["authorization"] == f"Bearer {API_KEY}"


async def test_json_object_schema_mode_is_llama_cpp_style(server: OpenAIWireServer) -> None:
    server.queue(completion('{"answer": "ok"}'))
    result = await provider(server, json_mode="json_object_schema").generate_structured(request(schema=True))
    assert result.data == {"answer": "ok"}
    assert server.requests[0].body["response_format"] == {"type": "json_object", "schema": SCHEMA}


async def test_json_object_mode_puts_schema_in_a_system_message(server: OpenAIWireServer) -> None:
    server.queue(completion('{"answer": "ok"}'))
    await provider(server, json_mode="json_object").generate_structured(request(schema=True))
    sent = server.requests[0].body
    assert sent["response_format"] == {"type": "json_object"}
    first = sent["messages"][0]
    assert first["role"] == "system"
    assert "JSON" in first["content"]
    assert json.dumps(SCHEMA) in first["content"]
    assert sent["messages"][1:] == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Say hi."},
    ]


async def test_json_mode_from_environment(server: OpenAIWireServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTRT_OPENAI_JSON_MODE", "json_object_schema")
    assert provider(server).json_mode == "json_object_schema"
    with pytest.raises(ProviderError, match="json_mode"):
        OpenAICompatibleProvider("m", api_key=API_KEY, json_mode="yaml")  # type: ignore[arg-type]


async def test_fenced_json_is_repaired(server: OpenAIWireServer) -> None:
    server.queue(completion('Sure! Here it is:\n```json\n{"answer": "fenced", "score": 1}\n```\nAnything else?'))
    result = await provider(server).generate_structured(request(schema=True))
    assert result.data == {"answer": "fenced", "score": 1}


async def test_json_in_prose_is_repaired(server: OpenAIWireServer) -> None:
    server.queue(completion('The answer is {"answer": "braced", "score": 2}. Done.'))
    result = await provider(server).generate_structured(request(schema=True))
    assert result.data == {"answer": "braced", "score": 2}


async def test_unrepairable_content_is_provider_error(server: OpenAIWireServer) -> None:
    server.queue(completion("I cannot answer that in JSON, sorry."))
    with pytest.raises(ProviderError, match="not valid JSON") as caught:
        await provider(server).generate_structured(request(schema=True))
    assert caught.value.provider == "openai"
    assert_no_key(caught.value)


async def test_truncated_json_names_max_tokens(server: OpenAIWireServer) -> None:
    server.queue(completion('{"answer": "this got cu', finish_reason="length"))
    with pytest.raises(ProviderError, match=r"not valid JSON \(cut off at max_tokens=321\)"):
        await provider(server).generate_structured(request(schema=True))


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply(body=[1, 2]), "not a chat completion"),
        (Reply(text='{"choices": [', media_type="application/json"), "not a chat completion: JSONDecodeError"),
        (Reply(body={"object": "chat.completion", "choices": []}), "no choices"),
        (Reply(body={"choices": [{"index": 0, "message": {"role": "assistant"}}]}), "empty"),
        (Reply(body={"choices": [{"message": {"content": None, "refusal": "I must decline"}}]}), "refused"),
    ],
)
async def test_odd_answers_are_provider_errors(server: OpenAIWireServer, reply: Reply, message: str) -> None:
    server.queue(reply)
    with pytest.raises(ProviderError, match=message):
        await provider(server).generate_structured(request(schema=True))


async def test_non_json_body_is_provider_error(server: OpenAIWireServer) -> None:
    server.queue(Reply(text="<html>Bad gateway page</html>", media_type="text/html"))
    with pytest.raises(ProviderError, match=r"not a chat completion.*Bad gateway page"):
        await provider(server).generate_structured(request(schema=True))


async def test_missing_usage_is_zero(server: OpenAIWireServer) -> None:
    server.queue(completion('{"answer": "x"}', usage=False))
    result = await provider(server).generate_structured(request(schema=True))
    assert result.usage == Usage(0, 0)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ('  \n{"a": 1}\n', {"a": 1}),
        ('```\n{"a": 1}\n```', {"a": 1}),
        ('```JSON\n{"a": {"b": [1, 2]}}\n```', {"a": {"b": [1, 2]}}),
        ('text ```json {"a": 1}``` text', {"a": 1}),
        ('prefix {"a": "}"} suffix', {"a": "}"}),
        ("[1, 2, 3]", None),
        ("no json here", None),
        ('{"a": 1', None),
        ("", None),
    ],
)
def test_parse_json_object(content: str, expected: dict[str, Any] | None) -> None:
    assert parse_json_object(content) == expected


# -- retries, errors, timeouts -------------------------------------------------------


async def test_429_with_retry_after_is_retried(server: OpenAIWireServer) -> None:
    server.queue(
        error(429, "Rate limit reached", headers={"Retry-After": "0"}, type_="rate_limit_error"),
        completion('{"answer": "after the wait"}'),
    )
    result = await provider(server).generate_structured(request(schema=True))
    assert result.data == {"answer": "after the wait"}
    assert server.request_count == 2
    assert [r.headers.get("x-stainless-retry-count") for r in server.requests] == ["0", "1"]
    assert all(r.headers["authorization"] == f"Bearer {API_KEY}" for r in server.requests)


async def test_retry_after_delay_is_honoured(server: OpenAIWireServer) -> None:
    server.queue(error(429, "slow down", headers={"Retry-After-Ms": "300"}), stream("ok"))
    started = time.monotonic()
    chunks = await collect(provider(server).stream_text(request()))
    assert time.monotonic() - started >= 0.28
    assert [c.text for c in chunks] == ["ok", ""]
    assert server.request_count == 2


async def test_500_then_success(server: OpenAIWireServer) -> None:
    server.queue(error(500, "The server had an error"), completion('{"answer": "recovered"}'))
    result = await provider(server).generate_structured(request(schema=True))
    assert result.data == {"answer": "recovered"}
    assert server.request_count == 2


async def test_persistent_500_is_provider_error_naming_status(server: OpenAIWireServer) -> None:
    fast = {"Retry-After-Ms": "10"}
    server.queue(*(error(500, "The server had an error", headers=fast) for _ in range(3)))
    with pytest.raises(ProviderError) as caught:
        await provider(server, max_retries=2).generate_structured(request(schema=True))
    assert server.request_count == 3
    reason = caught.value.reason
    assert "HTTP 500" in reason
    assert "after 2 retries" in reason
    assert "The server had an error" in reason
    assert caught.value.code == "PROVIDER_ERROR"
    assert_no_key(caught.value)


async def test_429_exhausted_says_rate_limited(server: OpenAIWireServer) -> None:
    server.queue(error(429, "quota exceeded", type_="insufficient_quota", headers={"x-should-retry": "false"}))
    with pytest.raises(ProviderError, match=r"rate limited: HTTP 429 \(without retries\): quota exceeded"):
        await provider(server).generate_structured(request(schema=True))
    assert server.request_count == 1


async def test_stalled_server_times_out_quickly(server: OpenAIWireServer) -> None:
    server.queue(Reply(stall=30, body={}))
    llm = provider(server, timeout=0.5, max_retries=0)
    started = time.monotonic()
    with pytest.raises(ProviderError, match=r"timed out \(0.5s per attempt, without retries\)") as caught:
        await llm.generate_structured(request(schema=True))
    assert time.monotonic() - started < 2
    assert_no_key(caught.value)


async def test_stalled_server_is_retried_then_fails(server: OpenAIWireServer) -> None:
    server.queue(Reply(stall=30, body={}), Reply(stall=30, body={}))
    llm = provider(server, timeout=0.3, max_retries=1)
    started = time.monotonic()
    with pytest.raises(ProviderError, match=r"timed out \(0.3s per attempt, after 1 retry\)"):
        await collect(llm.stream_text(request()))
    assert time.monotonic() - started < 3
    assert server.request_count == 2


async def test_unreachable_server_is_provider_error() -> None:
    llm = OpenAICompatibleProvider("m", api_key=API_KEY, base_url="http://127.0.0.1:9/v1", max_retries=0)
    with pytest.raises(ProviderError, match=r"cannot reach http://127.0.0.1:9/v1") as caught:
        await llm.generate_structured(request(schema=True))
    assert_no_key(caught.value)


async def test_echoed_key_never_appears_in_errors(server: OpenAIWireServer) -> None:
    wrong_key = "sk-test-SECRET123-but-wrong"
    llm = provider(server, api_key=wrong_key)
    with pytest.raises(ProviderError) as caught:
        await llm.generate_structured(request(schema=True))
    assert "HTTP 401" in caught.value.reason
    assert "Incorrect API key provided" in caught.value.reason
    assert wrong_key not in str(caught.value)
    assert_no_key(caught.value)
    with pytest.raises(ProviderError) as caught_stream:
        await collect(llm.stream_text(request()))
    assert wrong_key not in str(caught_stream.value)
    assert_no_key(caught_stream.value)
    assert wrong_key not in repr(llm)


# -- configuration -------------------------------------------------------------------


async def test_configured_from_sdk_environment(server: OpenAIWireServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("AGENTRT_LLM_TIMEOUT", "7.5")
    llm = OpenAICompatibleProvider("test-model")
    assert llm.timeout == 7.5
    assert llm.max_retries == 2
    assert llm.json_mode == "json_schema"
    server.queue(completion('{"answer": "env"}'))
    result = await llm.generate_structured(request(schema=True))
    assert result.data == {"answer": "env"}
    assert server.requests[0].headers["authorization"] == f"Bearer {API_KEY}"


async def test_resolved_by_model_spec(server: OpenAIWireServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from agentrt.context import AgentConfig
    from agentrt.llm import resolve_provider

    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    config = AgentConfig.model_validate({"id": "a1", "name": "agent", "model": "openai:test-model"})
    llm = resolve_provider(config)
    assert isinstance(llm, OpenAICompatibleProvider)
    assert llm.model == "test-model"
    assert llm.timeout == 60.0


def test_defaults_and_bad_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    llm = OpenAICompatibleProvider("gpt-4o-mini", api_key=API_KEY)
    assert (llm.name, llm.timeout, llm.max_retries, llm.base_url) == ("openai", 60.0, 2, None)
    assert API_KEY not in repr(llm)
    with pytest.raises(ProviderError, match="no API key"):
        OpenAICompatibleProvider("gpt-4o-mini")
    monkeypatch.setenv("AGENTRT_LLM_TIMEOUT", "soon")
    with pytest.raises(ProviderError, match="AGENTRT_LLM_TIMEOUT"):
        OpenAICompatibleProvider("gpt-4o-mini", api_key=API_KEY)
    with pytest.raises(ProviderError, match="timeout"):
        OpenAICompatibleProvider("gpt-4o-mini", api_key=API_KEY, timeout=0)


async def test_keyless_local_server(monkeypatch: pytest.MonkeyPatch) -> None:
    async with OpenAIWireServer("sk-no-key-required") as local:
        monkeypatch.setenv("OPENAI_BASE_URL", local.base_url)
        local.queue(stream("local"))
        chunks = await collect(OpenAICompatibleProvider("llama").stream_text(request()))
    assert [c.text for c in chunks] == ["local", ""]
