"""Helpers the HTTP providers (OpenAI-compatible, Anthropic) share: settings from the
environment, and readable error texts from the SDKs' errors."""

from __future__ import annotations

import json
import os

from agentrt.errors import ProviderError

MAX_DETAIL = 300


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
