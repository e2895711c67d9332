"""The provider interface every LLM backend implements."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
        )

    def to_dict(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }


@dataclass(frozen=True, slots=True)
class LLMRequest:
    messages: tuple[ChatMessage, ...]
    temperature: float = 0.7
    max_tokens: int = 4096
    response_schema: dict[str, Any] | None = None
    """When set, the answer must be a JSON object matching this schema."""
    schema_name: str = "response"
    call_index: int = 0
    """The n-th LLM call of this run, from 0. Deterministic providers replay by it, so a
    resumed run goes on where it paused; real providers ignore it."""


@dataclass(frozen=True, slots=True)
class StructuredResult:
    data: dict[str, Any]
    usage: Usage = field(default_factory=Usage)


@dataclass(frozen=True, slots=True)
class StreamChunk:
    """A piece of a streamed answer: text, or (last) the call's usage."""

    text: str = ""
    usage: Usage | None = None


@runtime_checkable
class LLMProvider(Protocol):
    """A model behind one provider. ``name`` is the provider (``openai``, ``scripted``)."""

    name: str
    model: str

    async def generate_structured(self, request: LLMRequest) -> StructuredResult:
        """One JSON object matching ``request.response_schema``."""
        ...

    def stream_text(self, request: LLMRequest) -> AsyncIterator[StreamChunk]:
        """The answer as text chunks, then one chunk carrying the usage."""
        ...
