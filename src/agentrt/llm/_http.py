"""Helpers the HTTP providers (OpenAI-compatible, Anthropic) share: settings from the
environment, and readable error texts from the SDKs' errors."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from agentrt.errors import ProviderError

MAX_DETAIL = 300
DEFAULT_TIMEOUT_SECONDS = 60.0
TIMEOUT_ENV = "AGENTRT_LLM_TIMEOUT"


@dataclass(frozen=True, slots=True)
class Connection:
    """Where and how a provider talks to its server, settled once at construction."""

    api_key: str
    base_url: str | None
    timeout: float
    max_retries: int


def connection(
    provider: str,
    *,
    api_key: str | None,
    base_url: str | None,
    key_env: str,
    url_env: str,
    no_key_placeholder: str,
    timeout: float | None,
    max_retries: int,
) -> Connection:
    """Arguments first, then the SDK's environment variables; a custom base URL may do
    without a key (local servers), the provider's own service may not."""
    key = api_key if api_key is not None else os.environ.get(key_env, "")
    url = base_url if base_url is not None else (os.environ.get(url_env) or None)
    if not key:
        if url is None:
            raise ProviderError(provider, f"no API key: set {key_env}, or {url_env} for a server that needs none")
        key = no_key_placeholder
    if timeout is None:
        timeout = env_seconds(provider, TIMEOUT_ENV)
    seconds = DEFAULT_TIMEOUT_SECONDS if timeout is None else float(timeout)
    if not seconds > 0:
        raise ProviderError(provider, f"timeout must be a positive number of seconds, not {seconds!r}")
    if max_retries < 0:
        raise ProviderError(provider, f"max_retries must be 0 or more, not {max_retries!r}")
    return Connection(key, url, seconds, max_retries)


def env_seconds(provider: str, name: str) -> float | None:
    """A number of seconds from the environment variable ``name`` (unset or empty: None)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise ProviderError(provider, f"{name}={raw!r} is not a number of seconds") from None


def shorten(text: str, limit: int = MAX_DETAIL) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def retries_taken(exc: BaseException, max_retries: int) -> str:
    """How many retries the SDK made, read from the last attempt's request."""
    request = getattr(exc, "request", None)
    header = request.headers.get("x-stainless-retry-count") if request is not None else None
    count = int(header) if header is not None and header.isdigit() else max_retries
    if count == 0:
        return "without retries"
    return f"after {count} retr{'y' if count == 1 else 'ies'}"


def error_message(body: object) -> str:
    """The ``message`` of an OpenAI- or Anthropic-style error body, else the body as text."""
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict):
            message = error.get("message")
            if isinstance(message, str) and message:
                return message
        elif isinstance(error, str) and error:
            return error
        return json.dumps(body, ensure_ascii=False, default=str)
    if isinstance(body, str):
        return body
    return ""
