"""The memory interface the runtime sees, and an in-process implementation."""

from __future__ import annotations

from collections import defaultdict
from typing import Protocol, runtime_checkable

from agentrt.context import RuntimeSessionContext
from agentrt.llm._base import ChatMessage


@runtime_checkable
class MemorySystem(Protocol):
    async def conversation(self, ctx: RuntimeSessionContext) -> list[ChatMessage]:
        """Earlier turns of this conversation, oldest first, without the new message."""
        ...

    async def recall(self, ctx: RuntimeSessionContext, query: str, limit: int = 5) -> list[str]:
        """Long-term facts of this user and agent related to ``query``."""
        ...

    async def record_turn(self, ctx: RuntimeSessionContext, user_message: str, answer: str) -> None:
        """Called once a turn has its answer."""
        ...


class InMemoryMemory:
    """Keeps turns per session and facts per (org, user, agent) in this process."""

    def __init__(self) -> None:
        self._turns: dict[tuple[str, str], list[ChatMessage]] = defaultdict(list)
        self._facts: dict[tuple[str, str, str], list[str]] = defaultdict(list)

    async def conversation(self, ctx: RuntimeSessionContext) -> list[ChatMessage]:
        return list(self._turns[(ctx.org_id, ctx.session_id)])

    async def recall(self, ctx: RuntimeSessionContext, query: str, limit: int = 5) -> list[str]:
        words = {word for word in query.lower().split() if len(word) > 2}
        facts = self._facts[(ctx.org_id, ctx.user_id, ctx.agent_id)]
        return [fact for fact in facts if words & set(fact.lower().split())][:limit]

    async def remember(self, ctx: RuntimeSessionContext, fact: str) -> None:
        self._facts[(ctx.org_id, ctx.user_id, ctx.agent_id)].append(fact)

    async def record_turn(self, ctx: RuntimeSessionContext, user_message: str, answer: str) -> None:
        turns = self._turns[(ctx.org_id, ctx.session_id)]
        turns.append(ChatMessage("user", user_message))
        turns.append(ChatMessage("assistant", answer))
