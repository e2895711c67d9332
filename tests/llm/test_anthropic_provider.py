"""AnthropicProvider against a real HTTP server speaking Anthropic's Messages wire format."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from agentrt.errors import ProviderError
from agentrt.llm import ChatMessage, LLMProvider, LLMRequest, StreamChunk, Usage
from agentrt.llm.anthropic import AnthropicProvider, split_messages, tool_name
from tests.llm.anthropic_wire_server import (
    AnthropicWireServer,
    Reply,
    error,
    error_body,
    text_stream,
    tool_stream,
)

API_KEY = "sk-ant-test-SECRET"
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"answer": {"type": "string"}, "score": {"type": "integer"}},
    "required": ["answer"],
}


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_AUTH_TOKEN",
        "ANTHROPIC_BASE_URL",
        "ANTHROPIC_CUSTOM_HEADERS",
        "ANTHROPIC_PROFILE",
        "AGENTRT_LLM_TIMEOUT",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
async def server() -> AsyncIterator[AnthropicWireServer]:
    async with AnthropicWireServer(API_KEY) as running:
        yield running


def provider(server: AnthropicWireServer, **kwargs: Any) -> AnthropicProvider:
    kwargs.setdefault("api_key", API_KEY)
    kwargs.setdefault("timeout", 5.0)
    return AnthropicProvider("claude-test", base_url=server.base_url, **kwargs)


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


def assert_no_key(exc: BaseException, key: str = API_KEY) -> None:
    assert key not in str(exc)
    assert key not in repr(exc)
    if isinstance(exc, ProviderError):
        assert key not in exc.reason
        assert key not in json.dumps(exc.to_dict())
    assert exc.__cause__ is None
    assert exc.__context__ is None


def assert_auth_headers(headers: dict[str, str]) -> None:
    from anthropic._constants import ANTHROPIC_API_VERSION

    assert headers["x-api-key"] == API_KEY
    assert headers["anthropic-version"] == ANTHROPIC_API_VERSION
    assert "authorization" not in headers


# -- streaming text ------------------------------------------------------------------


async def test_stream_text_yields_deltas_then_usage(server: AnthropicWireServer) -> None:
    server.queue(text_stream("Hel", "lo", ", world", input_tokens=12, output_tokens=6))
    llm = provider(server)
    assert isinstance(llm, LLMProvider)

    chunks = await collect(llm.stream_text(request(temperature=0.25, max_tokens=77)))

    assert [c.text for c in chunks[:-1]] == ["Hel", "lo", ", world"]
    assert all(c.usage is None for c in chunks[:-1])
    assert chunks[-1] == StreamChunk(usage=Usage(12, 6))
    sent = server.requests[0]
    assert sent.path == "/v1/messages"
    assert_auth_headers(sent.headers)
    assert sent.body["model"] == "claude-test"
    assert sent.body["stream"] is True
    assert sent.body["temperature"] == 0.25
    assert sent.body["max_tokens"] == 77
    assert sent.body["system"] == "You are terse."
    assert sent.body["messages"] == [{"role": "user", "content": "Say hi."}]
    assert "tools" not in sent.body
    assert "tool_choice" not in sent.body


async def test_usage_counts_cached_input_tokens(server: AnthropicWireServer) -> None:
    server.queue(text_stream("cached", input_tokens=4, cache_read=100, output_tokens=2))
    chunks = await collect(provider(server).stream_text(request()))
    assert chunks[-1].usage == Usage(104, 2)


async def test_stream_error_status_is_provider_error(server: AnthropicWireServer) -> None:
    server.queue(error(400, "invalid_request_error", "max_tokens: too large"))
    with pytest.raises(ProviderError) as caught:
        await collect(provider(server).stream_text(request()))
    assert caught.value.provider == "anthropic"
    assert "HTTP 400" in caught.value.reason
    assert "invalid_request_error" in caught.value.reason
    assert "max_tokens: too large" in caught.value.reason
    assert_no_key(caught.value)


async def test_overloaded_error_event_mid_stream_is_provider_error(server: AnthropicWireServer) -> None:
    events = text_stream("partial").sse
    assert events is not None
    server.queue(Reply(sse=[*events[:4], ("error", error_body("overloaded_error", "Overloaded"))]))
    seen: list[str] = []
    with pytest.raises(ProviderError, match=r"overloaded mid-answer: overloaded_error: Overloaded") as caught:
        async for item in provider(server).stream_text(request()):
            seen.append(item.text)
    assert seen == ["partial"]
    assert_no_key(caught.value)


async def test_stream_that_stalls_midway_times_out(server: AnthropicWireServer) -> None:
    server.queue(text_stream("first", "never sent", stall_after=4))
    llm = provider(server, timeout=0.5, max_retries=0)
    seen: list[str] = []
    started = time.monotonic()
    with pytest.raises(ProviderError, match=r"timed out: no data for 0.5s") as caught:
        async for item in llm.stream_text(request()):
            seen.append(item.text)
    assert time.monotonic() - started < 3
    assert seen == ["first"]
    assert_no_key(caught.value)


async def test_stream_abandoned_early_closes_cleanly(server: AnthropicWireServer) -> None:
    server.queue(text_stream("one", "two", "three"), text_stream("again"))
    llm = provider(server)
    chunks = llm.stream_text(request())
    first = await anext(chunks)
    assert first.text == "one"
    await chunks.aclose()  # type: ignore[attr-defined]
    assert [c.text for c in await collect(llm.stream_text(request()))] == ["again", ""]
    assert server.request_count == 2


async def test_stream_cancelled_midway_closes_cleanly(server: AnthropicWireServer) -> None:
    server.queue(text_stream("first", "never", stall_after=4))
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


async def test_malformed_event_is_provider_error(server: AnthropicWireServer) -> None:
    server.queue(Reply(sse=[("message_start", "this is not json")]))
    with pytest.raises(ProviderError, match="malformed stream event"):
        await collect(provider(server).stream_text(request()))


async def test_html_page_instead_of_a_stream_is_provider_error(server: AnthropicWireServer) -> None:
    server.queue(Reply(text="<html>Bad gateway page</html>", media_type="text/html"))
    with pytest.raises(ProviderError, match="not a Messages stream"):
        await collect(provider(server).stream_text(request()))


# -- structured answers --------------------------------------------------------------


async def test_generate_structured_forces_the_tool_and_joins_json_deltas(server: AnthropicWireServer) -> None:
    server.queue(tool_stream("greeting", '{"ans', 'wer": "h', 'i", "sc', 'ore": 3}', input_tokens=30, output_tokens=9))

    result = await provider(server).generate_structured(request(schema=True, temperature=0.0, max_tokens=500))

    assert result.data == {"answer": "hi", "score": 3}
    assert result.usage == Usage(30, 9)
    sent = server.requests[0]
    assert_auth_headers(sent.headers)
    assert sent.body["tools"] == [
        {"name": "greeting", "description": sent.body["tools"][0]["description"], "input_schema": SCHEMA}
    ]
    assert sent.body["tool_choice"] == {"type": "tool", "name": "greeting"}
    assert sent.body["temperature"] == 0.0
    assert sent.body["max_tokens"] == 500
    assert sent.body["system"] == "You are terse."


async def test_tool_call_after_a_text_preamble(server: AnthropicWireServer) -> None:
    server.queue(tool_stream("greeting", '{"answer": "after text"}', preamble="Let me answer."))
    result = await provider(server).generate_structured(request(schema=True))
    assert result.data == {"answer": "after text"}


async def test_whole_tool_input_in_block_start(server: AnthropicWireServer) -> None:
    reply = tool_stream("greeting")
    assert reply.sse is not None
    reply.sse[1][1]["content_block"]["input"] = {"answer": "whole"}
    server.queue(reply)
    result = await provider(server).generate_structured(request(schema=True))
    assert result.data == {"answer": "whole"}


async def test_text_answer_instead_of_tool_call_is_repaired(server: AnthropicWireServer) -> None:
    server.queue(text_stream("Sure!\n```json\n", '{"answer": "fenced", "score": 1}\n', "```", output_tokens=15))
    result = await provider(server).generate_structured(request(schema=True))
    assert result.data == {"answer": "fenced", "score": 1}
    assert result.usage == Usage(5, 15)


async def test_unrepairable_text_is_provider_error(server: AnthropicWireServer) -> None:
    server.queue(text_stream("I cannot answer that in JSON, sorry."))
    with pytest.raises(ProviderError, match="not valid JSON") as caught:
        await provider(server).generate_structured(request(schema=True))
    assert_no_key(caught.value)


async def test_truncated_tool_input_names_max_tokens(server: AnthropicWireServer) -> None:
    server.queue(tool_stream("greeting", '{"answer": "this got', " cu", stop_reason="max_tokens"))
    with pytest.raises(ProviderError, match=r"not valid JSON \(cut off at max_tokens=321\)"):
        await provider(server).generate_structured(request(schema=True))


async def test_refusal_is_provider_error(server: AnthropicWireServer) -> None:
    server.queue(text_stream("I won't help with that.", stop_reason="refusal"))
    with pytest.raises(ProviderError, match="the model refused"):
        await provider(server).generate_structured(request(schema=True))


async def test_empty_answer_is_provider_error(server: AnthropicWireServer) -> None:
    server.queue(text_stream())
    with pytest.raises(ProviderError, match=r"empty \(stop_reason=end_turn\)"):
        await provider(server).generate_structured(request(schema=True))


def test_tool_names_and_message_splitting() -> None:
    assert tool_name("greeting") == "greeting"
    assert tool_name("plan v2/final") == "plan_v2_final"
    assert tool_name("") == "response"
    assert len(tool_name("x" * 100)) == 64
    messages = (
        ChatMessage("system", "A."),
        ChatMessage("user", "one"),
        ChatMessage("system", "B."),
        ChatMessage("user", "two"),
        ChatMessage("assistant", ""),
        ChatMessage("assistant", "three"),
    )
    assert split_messages(messages) == (
        "A.\n\nB.",
        [{"role": "user", "content": "one\n\ntwo"}, {"role": "assistant", "content": "three"}],
    )
    assert split_messages((ChatMessage("system", "only"),)) == ("", [{"role": "user", "content": "only"}])


# -- retries, errors, timeouts -------------------------------------------------------


async def test_429_with_retry_after_is_retried(server: AnthropicWireServer) -> None:
    server.queue(
        error(429, "rate_limit_error", "Too many requests", headers={"retry-after": "0.3"}),
        tool_stream("greeting", '{"answer": "after the wait"}'),
    )
    started = time.monotonic()
    result = await provider(server).generate_structured(request(schema=True))
    assert time.monotonic() - started >= 0.28
    assert result.data == {"answer": "after the wait"}
    assert server.request_count == 2
    assert [r.headers.get("x-stainless-retry-count") for r in server.requests] == ["0", "1"]
    for sent in server.requests:
        assert_auth_headers(sent.headers)


async def test_529_overloaded_then_success(server: AnthropicWireServer) -> None:
    server.queue(
        error(529, "overloaded_error", "Overloaded", headers={"retry-after-ms": "10"}),
        text_stream("recovered"),
    )
    chunks = await collect(provider(server).stream_text(request()))
    assert [c.text for c in chunks] == ["recovered", ""]
    assert server.request_count == 2


async def test_500_then_success(server: AnthropicWireServer) -> None:
    server.queue(error(500, "api_error", "Internal server error", headers={"retry-after-ms": "10"}), text_stream("ok"))
    chunks = await collect(provider(server).stream_text(request()))
    assert [c.text for c in chunks] == ["ok", ""]
    assert server.request_count == 2


async def test_persistent_500_is_provider_error_naming_status(server: AnthropicWireServer) -> None:
    fast = {"retry-after-ms": "10", "request-id": "req_123"}
    server.queue(*(error(500, "api_error", "Internal server error", headers=fast) for _ in range(3)))
    with pytest.raises(ProviderError) as caught:
        await provider(server, max_retries=2).generate_structured(request(schema=True))
    assert server.request_count == 3
    reason = caught.value.reason
    assert reason == "HTTP error: HTTP 500 (after 2 retries): api_error: Internal server error [request id req_123]"
    assert caught.value.code == "PROVIDER_ERROR"
    assert_no_key(caught.value)


async def test_persistent_overload_says_overloaded(server: AnthropicWireServer) -> None:
    fast = {"retry-after-ms": "10"}
    server.queue(*(error(529, "overloaded_error", "Overloaded", headers=fast) for _ in range(2)))
    with pytest.raises(ProviderError, match=r"overloaded: HTTP 529 \(after 1 retry\): overloaded_error: Overloaded"):
        await collect(provider(server, max_retries=1).stream_text(request()))


async def test_429_not_to_be_retried_says_rate_limited(server: AnthropicWireServer) -> None:
    server.queue(error(429, "rate_limit_error", "quota exceeded", headers={"x-should-retry": "false"}))
    with pytest.raises(ProviderError, match=r"rate limited: HTTP 429 \(without retries\): rate_limit_error"):
        await provider(server).generate_structured(request(schema=True))
    assert server.request_count == 1


async def test_a_long_retry_after_is_capped(server: AnthropicWireServer, monkeypatch: pytest.MonkeyPatch) -> None:
    import agentrt.llm.anthropic as module

    monkeypatch.setattr(module, "MAX_RETRY_WAIT_SECONDS", 0.2)
    server.queue(error(429, "rate_limit_error", "slow down", headers={"retry-after": "3600"}), text_stream("ok"))
    started = time.monotonic()
    chunks = await collect(provider(server).stream_text(request()))
    assert time.monotonic() - started < 2
    assert [c.text for c in chunks] == ["ok", ""]


async def test_stalled_server_times_out_quickly(server: AnthropicWireServer) -> None:
    server.queue(Reply(stall=30, body={}))
    llm = provider(server, timeout=0.5, max_retries=0)
    started = time.monotonic()
    with pytest.raises(ProviderError, match=r"timed out \(0.5s per attempt, without retries\)") as caught:
        await llm.generate_structured(request(schema=True))
    assert time.monotonic() - started < 2
    assert_no_key(caught.value)


async def test_stalled_server_is_retried_then_fails(server: AnthropicWireServer) -> None:
    server.queue(Reply(stall=30, body={}), Reply(stall=30, body={}))
    llm = provider(server, timeout=0.3, max_retries=1)
    started = time.monotonic()
    with pytest.raises(ProviderError, match=r"timed out \(0.3s per attempt, after 1 retry\)"):
        await collect(llm.stream_text(request()))
    assert time.monotonic() - started < 4
    assert server.request_count == 2


async def test_unreachable_server_is_provider_error() -> None:
    llm = AnthropicProvider("claude-test", api_key=API_KEY, base_url="http://127.0.0.1:9", max_retries=0)
    with pytest.raises(ProviderError, match=r"cannot reach http://127.0.0.1:9 \(without retries\)") as caught:
        await llm.generate_structured(request(schema=True))
    assert_no_key(caught.value)


async def test_echoed_key_never_appears_in_errors(server: AnthropicWireServer) -> None:
    wrong_key = "sk-ant-test-SECRET-but-wrong"
    llm = provider(server, api_key=wrong_key)
    with pytest.raises(ProviderError) as caught:
        await llm.generate_structured(request(schema=True))
    assert "HTTP 401" in caught.value.reason
    assert "authentication_error" in caught.value.reason
    assert "invalid x-api-key: [redacted]" in caught.value.reason
    assert_no_key(caught.value, wrong_key)
    with pytest.raises(ProviderError) as caught_stream:
        await collect(llm.stream_text(request()))
    assert_no_key(caught_stream.value, wrong_key)
    with pytest.raises(ProviderError) as caught_list:
        await llm.list_models()
    assert_no_key(caught_list.value, wrong_key)
    assert wrong_key not in repr(llm)


async def test_list_models_probe(server: AnthropicWireServer) -> None:
    assert await provider(server).list_models(attempt_seconds=2) == ["claude-test", "claude-test-mini"]
    sent = server.requests[0]
    assert (sent.method, sent.path) == ("GET", "/v1/models")
    assert_auth_headers(sent.headers)


# -- configuration -------------------------------------------------------------------


async def test_configured_from_sdk_environment(server: AnthropicWireServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", API_KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)
    monkeypatch.setenv("AGENTRT_LLM_TIMEOUT", "7.5")
    llm = AnthropicProvider("claude-test")
    assert (llm.timeout, llm.max_retries, llm.base_url) == (7.5, 2, server.base_url)
    server.queue(tool_stream("greeting", '{"answer": "env"}'))
    result = await llm.generate_structured(request(schema=True))
    assert result.data == {"answer": "env"}
    assert_auth_headers(server.requests[0].headers)


async def test_resolved_by_model_spec(server: AnthropicWireServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from agentrt.context import AgentConfig
    from agentrt.llm import parse_model_spec, resolve_provider

    monkeypatch.setenv("ANTHROPIC_API_KEY", API_KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)
    for spec in ("anthropic:claude-test", "claude-test"):
        assert str(parse_model_spec(spec)) == "anthropic:claude-test"
        llm = resolve_provider(AgentConfig.model_validate({"id": "a1", "name": "agent", "model": spec}))
        assert isinstance(llm, AnthropicProvider)
        assert llm.model == "claude-test"


def test_defaults_and_bad_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    llm = AnthropicProvider("claude-sonnet-4-5", api_key=API_KEY)
    assert (llm.name, llm.timeout, llm.max_retries, llm.base_url) == ("anthropic", 60.0, 2, None)
    assert API_KEY not in repr(llm)
    assert "https://api.anthropic.com" in repr(llm)
    with pytest.raises(ProviderError, match="no API key"):
        AnthropicProvider("claude-sonnet-4-5")
    monkeypatch.setenv("AGENTRT_LLM_TIMEOUT", "soon")
    with pytest.raises(ProviderError, match="AGENTRT_LLM_TIMEOUT"):
        AnthropicProvider("claude-sonnet-4-5", api_key=API_KEY)
    with pytest.raises(ProviderError, match="timeout"):
        AnthropicProvider("claude-sonnet-4-5", api_key=API_KEY, timeout=0)
    with pytest.raises(ProviderError, match="max_retries"):
        AnthropicProvider("claude-sonnet-4-5", api_key=API_KEY, timeout=1, max_retries=-1)
    creds = AnthropicProvider(
        "m", api_key=API_KEY, timeout=1, base_url="https://user:pw@gateway.example:8443/anthropic"
    )
    assert creds.safe_base_url() == "https://gateway.example:8443/anthropic"


async def test_keyless_server_gets_a_placeholder(monkeypatch: pytest.MonkeyPatch) -> None:
    async with AnthropicWireServer("sk-ant-no-key-required") as local:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", local.base_url)
        local.queue(text_stream("local"))
        chunks = await collect(AnthropicProvider("local-model").stream_text(request()))
    assert [c.text for c in chunks] == ["local", ""]
