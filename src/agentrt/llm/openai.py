"""A provider for OpenAI's chat-completions API and the servers that speak it.

``OpenAICompatibleProvider`` talks to OpenAI itself or to any server with the same wire
format (vLLM, llama.cpp's ``llama-server``, Ollama, LM Studio, a gateway) through the
official ``openai`` SDK's ``AsyncOpenAI`` client. It is configured like the SDK:

* ``OPENAI_API_KEY`` / ``api_key`` - the key sent as ``Authorization: Bearer ...``. A
  server at a custom ``base_url`` may need none; a placeholder is sent then.
* ``OPENAI_BASE_URL`` / ``base_url`` - where the API lives (default: OpenAI's).
* ``AGENTRT_LLM_TIMEOUT`` / ``timeout`` - seconds one HTTP attempt may take, and the
  longest silence allowed while streaming (default 60).
* ``max_retries`` - the SDK's own retries on connection errors, timeouts, 408, 409, 429
  and 5xx, with exponential backoff that honours ``Retry-After`` (default 2).
* ``AGENTRT_OPENAI_JSON_MODE`` / ``json_mode`` - how a structured answer is asked for:
  ``json_schema`` (OpenAI's structured outputs), ``json_object_schema`` (llama.cpp
  style, ``{"type": "json_object", "schema": ...}``) or ``json_object`` (plain JSON
  mode, the schema then goes into a system message).

Every failure surfaces as a ``ProviderError("openai", reason)`` whose reason names the
HTTP status or the network problem, and never contains the API key.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import AsyncIterator, Iterable
from typing import Any, Literal, cast, get_args
from urllib.parse import urlsplit

import openai as openai_sdk
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam
from openai.types.chat.completion_create_params import ResponseFormat
from openai.types.completion_usage import CompletionUsage

from agentrt.errors import ProviderError
from agentrt.llm._base import ChatMessage, LLMRequest, StreamChunk, StructuredResult, Usage
from agentrt.llm._http import connection, error_message, retries_taken
from agentrt.llm._http import shorten as _shorten

JsonMode = Literal["json_schema", "json_object_schema", "json_object"]
JSON_MODES: tuple[str, ...] = get_args(JsonMode)

DEFAULT_MAX_RETRIES = 2
NO_KEY_PLACEHOLDER = "sk-no-key-required"
"""Sent to a custom ``base_url`` when no key is configured: local servers ignore it."""

_PROVIDER = "openai"
_REDACTED = "[redacted]"
_FENCE = re.compile(r"```[A-Za-z0-9_-]*[ \t]*\r?\n?(.*?)```", re.DOTALL)


def _usage(usage: CompletionUsage | None) -> Usage:
    if usage is None:
        return Usage()
    return Usage(prompt_tokens=usage.prompt_tokens or 0, completion_tokens=usage.completion_tokens or 0)


def _message_param(message: ChatMessage) -> ChatCompletionMessageParam:
    if message.role == "system":
        return {"role": "system", "content": message.content}
    if message.role == "assistant":
        return {"role": "assistant", "content": message.content}
    return {"role": "user", "content": message.content}


def _json_candidates(content: str) -> Iterable[str]:
    """The text itself, then what a chatty model may have wrapped its JSON in."""
    yield content
    for match in _FENCE.finditer(content):
        yield match.group(1)
    start, end = content.find("{"), content.rfind("}")
    if 0 <= start < end:
        yield content[start : end + 1]


def parse_json_object(content: str) -> dict[str, Any] | None:
    """The JSON object in ``content``, repaired from fences or surrounding prose if need be.

    ``None`` when no candidate parses to a JSON object.
    """
    for candidate in _json_candidates(content.strip()):
        try:
            data = json.loads(candidate)
        except (json.JSONDecodeError, RecursionError):
            continue
        if isinstance(data, dict):
            return data
    return None


class OpenAICompatibleProvider:
    """A model served over OpenAI's chat-completions API, through the ``openai`` SDK.

    Each call opens its own ``AsyncOpenAI`` client and closes it when the call ends, so
    a provider holds no connections between calls and needs no closing; it can be made
    per run and shared between event loops.
    """

    name = "openai"

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        json_mode: JsonMode | None = None,
    ) -> None:
        self.model = model
        settled = connection(
            _PROVIDER,
            api_key=api_key,
            base_url=base_url,
            key_env="OPENAI_API_KEY",
            url_env="OPENAI_BASE_URL",
            no_key_placeholder=NO_KEY_PLACEHOLDER,
            timeout=timeout,
            max_retries=max_retries,
        )
        self._api_key = settled.api_key
        self.base_url = settled.base_url
        self.timeout = settled.timeout
        self.max_retries = settled.max_retries
        mode = json_mode or os.environ.get("AGENTRT_OPENAI_JSON_MODE", "").strip() or "json_schema"
        if mode not in JSON_MODES:
            raise ProviderError(_PROVIDER, f"json_mode must be one of {', '.join(JSON_MODES)}, not {mode!r}")
        self.json_mode = cast(JsonMode, mode)

    def __repr__(self) -> str:
        return f"OpenAICompatibleProvider(model={self.model!r}, base_url={self._safe_base_url()!r})"

    # -- the provider interface ------------------------------------------------------

    async def generate_structured(self, request: LLMRequest) -> StructuredResult:
        """One JSON object answering ``request``, asked for in the configured ``json_mode``."""
        schema = request.response_schema or {"type": "object"}
        messages = [_message_param(message) for message in request.messages]
        if self.json_mode == "json_object":
            instruction = (
                "Answer with one JSON object, and nothing else, that matches this JSON schema:\n"
                + json.dumps(schema, ensure_ascii=False)
            )
            messages.insert(0, {"role": "system", "content": instruction})
        completion: object = None
        failure = ""
        try:
            async with self._client() as client:
                completion = await client.chat.completions.create(
                    model=self.model,
                    messages=messages,
                    temperature=request.temperature,
                    max_tokens=request.max_tokens,
                    response_format=self._response_format(request.schema_name, schema),
                )
        except openai_sdk.OpenAIError as exc:
            failure = self._describe(exc)
        except ValueError as exc:  # a 200 whose body is not JSON at all
            failure = f"the answer is not a chat completion: {type(exc).__name__}"
        if failure:
            # Raised outside the ``except`` so the SDK error, whose text comes from the
            # server and might echo credentials, is neither chained nor kept as context.
            raise ProviderError(_PROVIDER, self._redact(failure))
        return self._structured(completion, request)

    def _structured(self, completion: object, request: LLMRequest) -> StructuredResult:
        if not isinstance(completion, ChatCompletion):
            # The SDK hands back the body as text when the server's is not JSON.
            raise ProviderError(
                _PROVIDER, self._redact(f"the answer is not a chat completion: {_shorten(str(completion), 200)!r}")
            )
        usage = _usage(getattr(completion, "usage", None))
        choices = getattr(completion, "choices", None)
        if not choices:
            raise ProviderError(_PROVIDER, "the answer has no choices")
        choice = choices[0]
        message = getattr(choice, "message", None)
        finish_reason = getattr(choice, "finish_reason", None)
        content = getattr(message, "content", None)
        if not content or not isinstance(content, str):
            refusal = getattr(message, "refusal", None)
            if refusal:
                raise ProviderError(_PROVIDER, self._redact(f"the model refused: {_shorten(str(refusal))}"))
            raise ProviderError(_PROVIDER, f"the answer is empty (finish_reason={finish_reason})")
        data = parse_json_object(content)
        if data is None:
            cut = f" (cut off at max_tokens={request.max_tokens})" if finish_reason == "length" else ""
            raise ProviderError(
                _PROVIDER,
                self._redact(f"the structured answer is not valid JSON{cut}: {_shorten(content, 200)!r}"),
            )
        return StructuredResult(data, usage)

    async def stream_text(self, request: LLMRequest) -> AsyncIterator[StreamChunk]:
        """The answer's text deltas as they arrive, then one chunk with the call's usage."""
        usage = Usage()
        failure = ""
        try:
            async with self._client() as client:
                stream = await client.chat.completions.create(
                    model=self.model,
                    messages=[_message_param(message) for message in request.messages],
                    temperature=request.temperature,
                    max_tokens=request.max_tokens,
                    stream=True,
                    stream_options={"include_usage": True},
                )
                async with stream:
                    async for chunk in stream:
                        # Lenient servers may leave fields out: read them defensively.
                        chunk_usage = getattr(chunk, "usage", None)
                        if isinstance(chunk_usage, CompletionUsage):
                            usage = _usage(chunk_usage)
                        for choice in getattr(chunk, "choices", None) or ():
                            text = getattr(getattr(choice, "delta", None), "content", None)
                            if text and isinstance(text, str):
                                yield StreamChunk(text=text)
        except openai_sdk.OpenAIError as exc:
            failure = self._describe(exc)
        except ValueError as exc:  # an event whose data is not JSON
            failure = f"malformed stream event: {type(exc).__name__}"
        if failure:
            raise ProviderError(_PROVIDER, self._redact(failure))
        yield StreamChunk(usage=usage)

    # -- plumbing ----------------------------------------------------------------------

    def _client(self) -> openai_sdk.AsyncOpenAI:
        try:
            return openai_sdk.AsyncOpenAI(
                api_key=self._api_key,
                base_url=self.base_url,
                timeout=self.timeout,
                max_retries=self.max_retries,
            )
        except (openai_sdk.OpenAIError, ValueError) as exc:
            raise ProviderError(_PROVIDER, self._redact(f"cannot configure the client: {exc}")) from None

    def _response_format(self, schema_name: str, schema: dict[str, Any]) -> ResponseFormat:
        if self.json_mode == "json_object":
            return {"type": "json_object"}
        if self.json_mode == "json_object_schema":
            # llama.cpp's server reads the schema next to the type; the SDK passes the
            # key through although its TypedDict does not declare it.
            return cast(ResponseFormat, {"type": "json_object", "schema": schema})
        return {
            "type": "json_schema",
            "json_schema": {"name": schema_name, "schema": schema, "strict": False},
        }

    def _safe_base_url(self) -> str:
        """The base URL without any user:password part."""
        url = self.base_url or "https://api.openai.com/v1"
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.port is not None:
            host = f"{host}:{parts.port}"
        return f"{parts.scheme}://{host}{parts.path}" if parts.scheme else url

    def _redact(self, text: str) -> str:
        if self._api_key and self._api_key != NO_KEY_PLACEHOLDER:
            text = text.replace(self._api_key, _REDACTED)
        return text

    def _describe(self, exc: openai_sdk.OpenAIError) -> str:
        """A short reason for an SDK error: status, server message, request id."""
        retries = retries_taken(exc, self.max_retries)
        if isinstance(exc, openai_sdk.APITimeoutError):
            return f"request to {self._safe_base_url()} timed out ({self.timeout:g}s per attempt, {retries})"
        if isinstance(exc, openai_sdk.APIConnectionError):
            cause = exc.__cause__ or exc.__context__
            detail = f": {type(cause).__name__}: {_shorten(str(cause), 200)}" if cause else ""
            return f"cannot reach {self._safe_base_url()} ({retries}){detail}"
        if isinstance(exc, openai_sdk.APIStatusError):
            label = "rate limited" if isinstance(exc, openai_sdk.RateLimitError) else "HTTP error"
            reason = f"{label}: HTTP {exc.status_code}"
            if exc.status_code in (408, 409, 429) or exc.status_code >= 500:
                reason += f" ({retries})"
            message = error_message(exc.body) or exc.response.reason_phrase
            if message:
                reason += f": {_shorten(message)}"
            if exc.request_id:
                reason += f" [request id {exc.request_id}]"
            return reason
        if isinstance(exc, openai_sdk.APIError):
            message = error_message(exc.body) or exc.message
            return f"API error: {_shorten(message)}"
        return f"{type(exc).__name__}: {_shorten(str(exc))}"
