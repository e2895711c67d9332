"""A deterministic provider that answers from a script: for tests and demos.

The script is ``agent_config.metadata["script"]``, a list read from its start each run.
Entry *n* answers the run's *n*-th LLM call: a JSON object for a structured call (a
plan), a string for a text answer. ``{"$error": "reason"}`` makes that call fail, and
``{"$delay": seconds, "$then": entry}`` answers ``entry`` after a pause. Running out of
entries is a ``ScriptExhaustedError``.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Sequence
from typing import Any

from agentrt.errors import ProviderError, ScriptExhaustedError
from agentrt.llm._base import LLMRequest, StreamChunk, StructuredResult, Usage

_TOKEN = re.compile(r"\s*\S+\s*|\s+")


def split_tokens(text: str) -> list[str]:
    """Word-sized tokens that join back to exactly ``text``."""
    return _TOKEN.findall(text)


def _estimate_tokens(text: str) -> int:
    return max(1, len(text) // 4) if text else 0


class ScriptedProvider:
    name = "scripted"

    def __init__(
        self, script: Sequence[Any], *, model: str = "scripted", delay_seconds: float = 0.0, record: bool = True
    ) -> None:
        self.model = model
        self._script = list(script)
        self._delay = delay_seconds
        self._record = record
        self.calls: list[LLMRequest] = []
        """The requests it answered (when ``record``), for tests to inspect."""

    @property
    def script_length(self) -> int:
        return len(self._script)

    async def _entry(self, request: LLMRequest) -> Any:
        if self._record:
            self.calls.append(request)
        index = request.call_index
        if index >= len(self._script):
            raise ScriptExhaustedError(
                self.name,
                f"script has {len(self._script)} entries but call #{index + 1} was made",
            )
        entry = self._script[index]
        delay = self._delay
        if isinstance(entry, dict) and "$delay" in entry:
            delay = float(entry["$delay"])
            entry = entry.get("$then")
        if delay:
            await asyncio.sleep(delay)
        if isinstance(entry, dict) and "$error" in entry:
            raise ProviderError(self.name, str(entry["$error"]))
        return entry

    @staticmethod
    def _prompt_usage(request: LLMRequest) -> int:
        return sum(_estimate_tokens(message.content) for message in request.messages)

    async def generate_structured(self, request: LLMRequest) -> StructuredResult:
        entry = await self._entry(request)
        if isinstance(entry, str):
            try:
                entry = json.loads(entry)
            except json.JSONDecodeError:
                raise ProviderError(
                    self.name,
                    f"script entry #{request.call_index + 1} is text, but a structured answer was asked",
                ) from None
        if not isinstance(entry, dict):
            raise ProviderError(self.name, f"script entry #{request.call_index + 1} is not a JSON object")
        completion = _estimate_tokens(json.dumps(entry))
        return StructuredResult(entry, Usage(self._prompt_usage(request), completion))

    async def stream_text(self, request: LLMRequest) -> AsyncIterator[StreamChunk]:
        entry = await self._entry(request)
        if not isinstance(entry, str):
            raise ProviderError(
                self.name,
                f"script entry #{request.call_index + 1} is a JSON object, but a text answer was asked",
            )
        tokens = split_tokens(entry)
        for token in tokens:
            yield StreamChunk(text=token)
        yield StreamChunk(usage=Usage(self._prompt_usage(request), len(tokens)))
