"""One exception tree for everything a caller of agentrt can catch.

Every error carries a stable ``code`` that the HTTP API, the event stream and the
process protocol share, so a client can act on it without parsing messages.
"""

from __future__ import annotations

from typing import Any


class AgentrtError(Exception):
    """Base of every error agentrt raises on purpose."""

    code: str = "AGENTRT_ERROR"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body


class InvalidInputError(AgentrtError):
    """The caller's input (a context, a request line, a decision) is malformed."""

    code = "INVALID_INPUT"


class ProviderError(AgentrtError):
    """An LLM provider failed; the message names the provider and the reason."""

    code = "PROVIDER_ERROR"

    def __init__(self, provider: str, reason: str, *, code: str | None = None) -> None:
        super().__init__(f"{provider}: {reason}", code=code)
        self.provider = provider
        self.reason = reason


class ScriptExhaustedError(ProviderError):
    """The scripted provider was asked for more answers than its script holds."""

    code = "SCRIPT_EXHAUSTED"


class BudgetExceededError(AgentrtError):
    """A run went over one of its budgets (wall time, LLM tokens)."""

    code = "BUDGET_EXCEEDED"

    def __init__(self, budget: str, limit: float, used: float) -> None:
        super().__init__(
            f"budget {budget} exceeded: used {used:g}, limit {limit:g}",
            details={"budget": budget, "limit": limit, "used": used},
        )
        self.budget = budget


class ApprovalError(AgentrtError):
    """A decision names an approval that does not exist or was already decided."""

    code = "APPROVAL_INVALID"


class RunNotFoundError(AgentrtError):
    code = "RUN_NOT_FOUND"


class SkillError(AgentrtError):
    """A skill could not be loaded or failed while running."""

    code = "SKILL_ERROR"
