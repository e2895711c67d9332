"""Run budgets from ``runtime_policy.metadata``: ``max_run_seconds``, ``max_llm_tokens``."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from agentrt.context import RuntimePolicy
from agentrt.errors import BudgetExceededError


def _limit(metadata: Mapping[str, Any], key: str) -> float | None:
    value = metadata.get(key)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def check_budgets(policy: RuntimePolicy, *, started_at: float, total_tokens: int) -> None:
    max_seconds = _limit(policy.metadata, "max_run_seconds")
    if max_seconds is not None:
        elapsed = time.time() - started_at
        if elapsed > max_seconds:
            raise BudgetExceededError("max_run_seconds", max_seconds, round(elapsed, 3))
    max_tokens = _limit(policy.metadata, "max_llm_tokens")
    if max_tokens is not None and total_tokens > max_tokens:
        raise BudgetExceededError("max_llm_tokens", max_tokens, total_tokens)
