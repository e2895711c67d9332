"""A provider for Anthropic's Messages API, through the official ``anthropic`` SDK.

``AnthropicProvider`` talks to Anthropic itself or to any server with the same wire
format (a gateway, a proxy, a local server with a ``/v1/messages`` route). It is
configured like the SDK:

* ``ANTHROPIC_API_KEY`` / ``api_key`` - the key, sent as ``x-api-key``. A server at a
  custom ``base_url`` may need none; a placeholder is sent then.
* ``ANTHROPIC_BASE_URL`` / ``base_url`` - where the API lives (default: Anthropic's);
  the origin, without ``/v1``.
* ``AGENTRT_LLM_TIMEOUT`` / ``timeout`` - seconds one HTTP attempt may take, and the
  longest silence allowed while streaming (default 60).
* ``max_retries`` - the SDK's own retries on connection errors, timeouts, 408, 409, 429,
  5xx and 529 (overloaded), with exponential backoff that honours ``retry-after`` (a
  wait the server asks for is capped at ``MAX_RETRY_WAIT_SECONDS``) (default 2).

Both calls stream. ``stream_text`` yields the text deltas, then the usage that
``message_start`` and ``message_delta`` reported. ``generate_structured`` offers one tool
named after ``request.schema_name`` whose ``input_schema`` is the response schema, forces
it with ``tool_choice``, and returns the tool's input, gathered from its
``input_json_delta`` chunks; should the model answer in text instead, the JSON is
repaired from that text.

Every failure surfaces as a ``ProviderError("anthropic", reason)`` whose reason names the
HTTP status, the API's error type or the network problem, and never contains the key.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import urlsplit

import anthropic as anthropic_sdk
import httpx2
from anthropic.types import MessageParam, ToolChoiceToolParam, ToolParam
from typing_extensions import override

from agentrt.errors import ProviderError
from agentrt.llm._base import ChatMessage, LLMRequest, StreamChunk, StructuredResult, Usage
from agentrt.llm._http import connection, error_message, retries_taken
from agentrt.llm._http import shorten as _shorten
from agentrt.llm.openai import parse_json_object

DEFAULT_MAX_RETRIES = 2
DEFAULT_BASE_URL = "https://api.anthropic.com"
MAX_RETRY_WAIT_SECONDS = 60.0
"""The longest wait between retries, whatever ``retry-after`` asks for: the SDK would
otherwise sleep as long as the server says, even hours, in the middle of a run."""
NO_KEY_PLACEHOLDER = "sk-ant-no-key-required"
"""Sent to a custom ``base_url`` when no key is configured: keyless servers ignore it."""

_PROVIDER = "anthropic"
_REDACTED = "[redacted]"
_TOOL_NAME_BAD = re.compile(r"[^A-Za-z0-9_-]")
_TOOL_DESCRIPTION = "Give your answer by calling this tool: its input is the whole answer, as a JSON object."


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def tool_name(schema_name: str) -> str:
    """``schema_name`` as a valid tool name (``[A-Za-z0-9_-]``, 1 to 64 characters)."""
    return _TOOL_NAME_BAD.sub("_", schema_name.strip())[:64] or "response"


def split_messages(messages: tuple[ChatMessage, ...]) -> tuple[str, list[MessageParam]]:
    """The system prompt (the system messages, joined) and the conversation.

    Consecutive messages of one role are merged and empty ones dropped, as the Messages
    API asks; a conversation with no user or assistant message gets the system prompt
    as its user message instead.
    """
    system = "\n\n".join(m.content for m in messages if m.role == "system" and m.content.strip())
    turns: list[tuple[str, str]] = []
    for m in messages:
        if m.role == "system" or not m.content.strip():
            continue
        if turns and turns[-1][0] == m.role:
            turns[-1] = (m.role, turns[-1][1] + "\n\n" + m.content)
        else:
            turns.append((m.role, m.content))
    if not turns:
        return "", [{"role": "user", "content": system or "(no message)"}]
    conversation: list[MessageParam] = [
        {"role": "assistant", "content": text} if role == "assistant" else {"role": "user", "content": text}
        for role, text in turns
    ]
    return system, conversation


class _Client(anthropic_sdk.AsyncAnthropic):
    """The SDK's client, with the wait a server may ask for between retries capped."""

    @override
    def _calculate_retry_timeout(self, *args: Any, **kwargs: Any) -> float:
        return min(super()._calculate_retry_timeout(*args, **kwargs), MAX_RETRY_WAIT_SECONDS)


@dataclass
class _Block:
    kind: str
    name: str = ""
    text: list[str] = field(default_factory=list)
    json_parts: list[str] = field(default_factory=list)
    start_input: object = None


@dataclass
class _Answer:
    """What a streamed message amounts to: its blocks, stop reason and usage."""

    started: bool = False
    stopped: bool = False
    stop_reason: str | None = None
    blocks: dict[int, _Block] = field(default_factory=dict)
    input_tokens: int = 0
    cache_tokens: dict[str, int] = field(default_factory=dict)
    output_tokens: int = 0

    @property
    def usage(self) -> Usage:
        return Usage(self.input_tokens + sum(self.cache_tokens.values()), self.output_tokens)

    def take_usage(self, usage: object) -> None:
        """Counts from ``message_start`` or (cumulative) ``message_delta``."""
        if usage is None:
            return
        input_tokens = getattr(usage, "input_tokens", None)
        if input_tokens is not None:
            self.input_tokens = _int(input_tokens)
        for name in ("cache_creation_input_tokens", "cache_read_input_tokens"):
            value = getattr(usage, name, None)
            if value is not None:
                self.cache_tokens[name] = _int(value)
        output_tokens = getattr(usage, "output_tokens", None)
        if output_tokens is not None:
            self.output_tokens = _int(output_tokens)

    def take(self, event: object) -> str:
        """Fold one stream event in; the text it adds, if any."""
        kind = getattr(event, "type", None)
        if kind == "message_start":
            self.started = True
            self.take_usage(getattr(getattr(event, "message", None), "usage", None))
        elif kind == "content_block_start":
            block = getattr(event, "content_block", None)
            index = _int(getattr(event, "index", 0))
            self.blocks[index] = _Block(
                kind=str(getattr(block, "type", "")),
                name=str(getattr(block, "name", "") or ""),
                start_input=getattr(block, "input", None),
            )
            initial = getattr(block, "text", None)
            if isinstance(initial, str) and initial:
                self.blocks[index].text.append(initial)
                return initial
        elif kind == "content_block_delta":
            delta = getattr(event, "delta", None)
            index = _int(getattr(event, "index", 0))
            block = self.blocks.setdefault(index, _Block(kind="unknown"))
            delta_kind = getattr(delta, "type", None)
            if delta_kind == "text_delta":
                text = getattr(delta, "text", None)
                if isinstance(text, str) and text:
                    block.text.append(text)
                    return text
            elif delta_kind == "input_json_delta":
                part = getattr(delta, "partial_json", None)
                if isinstance(part, str):
                    block.json_parts.append(part)
        elif kind == "message_delta":
            reason = getattr(getattr(event, "delta", None), "stop_reason", None)
            if isinstance(reason, str):
                self.stop_reason = reason
            self.take_usage(getattr(event, "usage", None))
        elif kind == "message_stop":
            self.stopped = True
        return ""

    def text(self) -> str:
        return "".join(part for block in self.blocks.values() if block.kind == "text" for part in block.text)

    def tool_input(self, name: str) -> tuple[dict[str, Any] | None, str]:
        """The input of the tool call (``name``'s, else the first), and its raw JSON text."""
        calls = [block for block in self.blocks.values() if block.kind == "tool_use"]
        chosen = next((block for block in calls if block.name == name), calls[0] if calls else None)
        if chosen is None:
            return None, ""
        raw = "".join(chosen.json_parts)
        if not raw.strip():
            # A server may send the whole input with the block's start, and no deltas.
            start = chosen.start_input
            return (cast(dict[str, Any], start) if isinstance(start, dict) else {}), ""
        try:
            data = json.loads(raw)
        except (json.JSONDecodeError, RecursionError):
            return parse_json_object(raw), raw
        return (data if isinstance(data, dict) else None), raw


class AnthropicProvider:
    """A Claude model (or any server speaking the Messages API), through the SDK.

    Each call opens its own ``AsyncAnthropic`` client and closes it when the call ends,
    so a provider holds no connections between calls and needs no closing.
    """

    name = "anthropic"

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
    ) -> None:
        self.model = model
        settled = connection(
            _PROVIDER,
            api_key=api_key,
            base_url=base_url,
            key_env="ANTHROPIC_API_KEY",
            url_env="ANTHROPIC_BASE_URL",
            no_key_placeholder=NO_KEY_PLACEHOLDER,
            timeout=timeout,
            max_retries=max_retries,
        )
        self._api_key = settled.api_key
        self.base_url = settled.base_url
        self.timeout = settled.timeout
        self.max_retries = settled.max_retries

    def __repr__(self) -> str:
        return f"AnthropicProvider(model={self.model!r}, base_url={self.safe_base_url()!r})"

    # -- the provider interface ------------------------------------------------------

    async def generate_structured(self, request: LLMRequest) -> StructuredResult:
        """One JSON object answering ``request``: the input of a forced tool call."""
        schema: dict[str, Any] = dict(request.response_schema or {"type": "object"})
        schema.setdefault("type", "object")
        name = tool_name(request.schema_name)
        tool: ToolParam = {"name": name, "description": _TOOL_DESCRIPTION, "input_schema": schema}
        choice: ToolChoiceToolParam = {"type": "tool", "name": name}
        answer = _Answer()
        async for _ in self._stream(request, answer, tools=[tool], tool_choice=choice):
            pass
        return self._structured(answer, name, request)

    async def stream_text(self, request: LLMRequest) -> AsyncIterator[StreamChunk]:
        """The answer's text deltas as they arrive, then one chunk with the call's usage."""
        answer = _Answer()
        async for text in self._stream(request, answer):
            yield StreamChunk(text=text)
        yield StreamChunk(usage=answer.usage)

    async def list_models(self, *, attempt_seconds: float | None = None) -> list[str]:
        """The ids ``GET /v1/models`` lists (one page, no retries): a cheap probe."""
        failure = ""
        ids: list[str] = []
        try:
            async with self._client(timeout=attempt_seconds, max_retries=0) as client:
                page = await client.models.list(limit=100)
                ids = [str(getattr(item, "id", "")) for item in getattr(page, "data", None) or ()]
        except (anthropic_sdk.AnthropicError, httpx2.HTTPError) as exc:
            failure = self._describe(exc, timeout=attempt_seconds)
        except ValueError as exc:
            failure = f"the model list is not JSON: {type(exc).__name__}"
        if failure:
            raise ProviderError(_PROVIDER, self._redact(failure))
        return [model_id for model_id in ids if model_id]

    # -- plumbing ----------------------------------------------------------------------

    async def _stream(self, request: LLMRequest, answer: _Answer, **tools: Any) -> AsyncIterator[str]:
        """One streamed Messages call: its text deltas; ``answer`` gathers the rest."""
        system, conversation = split_messages(request.messages)
        options: dict[str, Any] = dict(tools)
        if system:
            options["system"] = system
        failure = ""
        try:
            async with self._client() as client:
                stream = await client.messages.create(
                    model=self.model,
                    messages=conversation,
                    max_tokens=request.max_tokens,
                    stream=True,
                    # This SDK's ``create`` has no ``temperature`` parameter; the API takes it.
                    extra_body={"temperature": request.temperature},
                    **options,
                )
                async for event in stream:
                    text = answer.take(event)
                    if text:
                        yield text
        except (anthropic_sdk.AnthropicError, httpx2.HTTPError) as exc:
            # ``httpx2`` errors escape the SDK untranslated once a stream has begun.
            failure = self._describe(exc)
        except ValueError as exc:  # an event whose data is not JSON
            failure = f"malformed stream event: {type(exc).__name__}"
        if not failure and not answer.started:
            failure = "the answer is not a Messages stream (no message_start event)"
        if failure:
            # Raised outside the ``except`` so the SDK error, whose text comes from the
            # server and might echo credentials, is neither chained nor kept as context.
            raise ProviderError(_PROVIDER, self._redact(failure))

    def _structured(self, answer: _Answer, name: str, request: LLMRequest) -> StructuredResult:
        data, raw = answer.tool_input(name)
        text = answer.text()
        if data is None and text.strip():
            data = parse_json_object(text)  # the model answered in text instead
        if data is not None:
            return StructuredResult(data, answer.usage)
        if answer.stop_reason == "refusal":
            detail = f": {_shorten(text)}" if text.strip() else ""
            raise ProviderError(_PROVIDER, self._redact(f"the model refused{detail}"))
        shown = raw or text
        if not shown.strip():
            raise ProviderError(_PROVIDER, f"the answer is empty (stop_reason={answer.stop_reason})")
        cut = f" (cut off at max_tokens={request.max_tokens})" if answer.stop_reason == "max_tokens" else ""
        raise ProviderError(
            _PROVIDER, self._redact(f"the structured answer is not valid JSON{cut}: {_shorten(shown, 200)!r}")
        )

    def _client(self, *, timeout: float | None = None, max_retries: int | None = None) -> _Client:
        try:
            return _Client(
                api_key=self._api_key,
                base_url=self.base_url,
                timeout=self.timeout if timeout is None else timeout,
                max_retries=self.max_retries if max_retries is None else max_retries,
                # This SDK sends ``api_key`` as ``Authorization: Bearer``; Anthropic's API
                # (and the servers copying it) read API keys from ``x-api-key``.
                default_headers={"x-api-key": self._api_key, "Authorization": cast(str, anthropic_sdk.omit)},
            )
        except (anthropic_sdk.AnthropicError, ValueError, TypeError) as exc:
            reason = self._redact(f"cannot configure the client: {type(exc).__name__}: {_shorten(str(exc))}")
        raise ProviderError(_PROVIDER, reason)

    def safe_base_url(self) -> str:
        """The base URL without any user:password part."""
        url = self.base_url or DEFAULT_BASE_URL
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.port is not None:
            host = f"{host}:{parts.port}"
        return f"{parts.scheme}://{host}{parts.path}" if parts.scheme else url

    def _redact(self, text: str) -> str:
        if self._api_key and self._api_key != NO_KEY_PLACEHOLDER:
            text = text.replace(self._api_key, _REDACTED)
        return text

    def _describe(self, exc: BaseException, *, timeout: float | None = None) -> str:
        """A short reason for an SDK or transport error: status, API error type, message."""
        seconds = self.timeout if timeout is None else timeout
        if isinstance(exc, anthropic_sdk.APITimeoutError):
            retries = retries_taken(exc, self.max_retries)
            return f"request to {self.safe_base_url()} timed out ({seconds:g}s per attempt, {retries})"
        if isinstance(exc, anthropic_sdk.APIConnectionError):
            cause = exc.__cause__ or exc.__context__
            detail = f": {type(cause).__name__}: {_shorten(str(cause), 200)}" if cause else ""
            return f"cannot reach {self.safe_base_url()} ({retries_taken(exc, self.max_retries)}){detail}"
        if isinstance(exc, httpx2.TimeoutException):
            return f"stream from {self.safe_base_url()} timed out: no data for {seconds:g}s"
        if isinstance(exc, httpx2.HTTPError):
            detail = _shorten(str(exc), 200)
            return f"connection to {self.safe_base_url()} failed mid-answer: {type(exc).__name__}" + (
                f": {detail}" if detail else ""
            )
        if isinstance(exc, anthropic_sdk.APIStatusError):
            return self._describe_status(exc)
        if isinstance(exc, anthropic_sdk.APIError):
            message = error_message(exc.body) or exc.message
            return f"API error: {_shorten(message)}"
        return f"{type(exc).__name__}: {_shorten(str(exc))}"

    def _describe_status(self, exc: anthropic_sdk.APIStatusError) -> str:
        error_type = self._error_type(exc.body)
        message = error_message(exc.body) or exc.response.reason_phrase
        status = exc.status_code
        if status < 400:
            # An ``event: error`` in the middle of a stream that began with 200.
            label = "overloaded" if error_type == "overloaded_error" else "error"
            reason = f"{label} mid-answer: {error_type or 'error'}"
        else:
            if status == 429:
                label = "rate limited"
            elif status == 529 or error_type == "overloaded_error":
                label = "overloaded"
            else:
                label = "HTTP error"
            reason = f"{label}: HTTP {status}"
            if status in (408, 409, 429) or status >= 500:
                reason += f" ({retries_taken(exc, self.max_retries)})"
            if error_type:
                reason += f": {error_type}"
        if message:
            reason += f": {_shorten(message)}"
        if exc.request_id:
            reason += f" [request id {exc.request_id}]"
        return reason

    @staticmethod
    def _error_type(body: object) -> str:
        error = body.get("error") if isinstance(body, dict) else None
        kind = error.get("type") if isinstance(error, dict) else None
        return kind if isinstance(kind, str) else ""
