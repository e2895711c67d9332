"""LLM providers: one interface, several backends, chosen by ``provider:model``."""

from agentrt.llm._base import ChatMessage, LLMProvider, LLMRequest, StreamChunk, StructuredResult, Usage
from agentrt.llm._resolve import ModelSpec, parse_model_spec, resolve_provider
from agentrt.llm.scripted import ScriptedProvider

__all__ = [
    "ChatMessage",
    "LLMProvider",
    "LLMRequest",
    "ModelSpec",
    "ScriptedProvider",
    "StreamChunk",
    "StructuredResult",
    "Usage",
    "parse_model_spec",
    "resolve_provider",
]
