"""Pick a provider from ``agent_config.model``.

``provider:model`` names both (``openai:gpt-4o-mini``, ``scripted``). A bare model name,
as the seed's API sends it, names its provider by convention: ``gpt-*`` and ``o<digit>*``
are OpenAI's, ``claude-*`` Anthropic's; anything else goes to the default provider. No
model at all means the default model (``AGENTRT_DEFAULT_MODEL``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass

from agentrt.context import AgentConfig
from agentrt.errors import ProviderError
from agentrt.llm._base import LLMProvider

DEFAULT_MODEL = "scripted"
KNOWN_PROVIDERS = ("openai", "anthropic", "local", "scripted")

_OPENAI_BARE = re.compile(r"^(gpt-|o\d|chatgpt-|text-)")


@dataclass(frozen=True, slots=True)
class ModelSpec:
    provider: str
    model: str

    def __str__(self) -> str:
        return f"{self.provider}:{self.model}"


def default_model() -> str:
    return os.environ.get("AGENTRT_DEFAULT_MODEL") or DEFAULT_MODEL


def parse_model_spec(spec: str | None, *, default: str | None = None) -> ModelSpec:
    fallback = default or default_model()
    text = (spec or "").strip() or fallback
    provider, sep, model = text.partition(":")
    if sep and provider in KNOWN_PROVIDERS:
        return ModelSpec(provider, model or provider)
    if text in KNOWN_PROVIDERS:
        return ModelSpec(text, text)
    if _OPENAI_BARE.match(text):
        return ModelSpec("openai", text)
    if text.startswith("claude-"):
        return ModelSpec("anthropic", text)
    if text == fallback:
        raise ProviderError("agentrt", f"cannot tell which provider serves model {text!r}")
    return ModelSpec(parse_model_spec(fallback, default=fallback).provider, text)


ProviderFactory = Callable[[ModelSpec, AgentConfig], LLMProvider]


def _scripted(spec: ModelSpec, config: AgentConfig) -> LLMProvider:
    from agentrt.llm.scripted import ScriptedProvider

    script = config.metadata.get("script", [])
    if not isinstance(script, list):
        raise ProviderError("scripted", 'agent_config.metadata["script"] must be a list')
    delay = float(config.metadata.get("script_delay_seconds", 0.0))
    return ScriptedProvider(script, model=spec.model, delay_seconds=delay)


def _openai(spec: ModelSpec, config: AgentConfig) -> LLMProvider:
    from agentrt.llm.openai import OpenAICompatibleProvider

    return OpenAICompatibleProvider(spec.model)


def _unavailable(spec: ModelSpec, config: AgentConfig) -> LLMProvider:
    raise ProviderError(spec.provider, "this provider is not available in this build yet")


PROVIDER_FACTORIES: dict[str, ProviderFactory] = {
    "scripted": _scripted,
    "openai": _openai,
    "anthropic": _unavailable,
    "local": _unavailable,
}


def resolve_provider(config: AgentConfig) -> LLMProvider:
    spec = parse_model_spec(config.model)
    return PROVIDER_FACTORIES[spec.provider](spec, config)
