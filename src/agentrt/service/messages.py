"""The message tree of a session: edits and regenerations branch it."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentrt.llm._base import ChatMessage
from agentrt.store.models import Message


async def session_messages(db: AsyncSession, session_id: str) -> list[Message]:
    return list(
        (
            await db.scalars(
                select(Message).where(Message.session_id == session_id).order_by(Message.created_at, Message.id)
            )
        ).all()
    )


def branch_to(messages: Sequence[Message], leaf_id: str | None) -> list[Message]:
    """The branch from the root down to ``leaf_id`` (inclusive), oldest first."""
    by_id = {m.id: m for m in messages}
    branch: list[Message] = []
    current = by_id.get(leaf_id) if leaf_id else None
    while current is not None and len(branch) <= len(by_id):
        branch.append(current)
        current = by_id.get(current.parent_id) if current.parent_id else None
    return list(reversed(branch))


def as_conversation(branch: Sequence[Message]) -> list[ChatMessage]:
    return [ChatMessage(m.role, m.content) for m in branch if m.role in ("user", "assistant")]  # type: ignore[arg-type]
