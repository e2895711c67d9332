"""Memory backed by the store: the conversation branch, and long-term facts per user × agent.

Facts are saved by the built-in ``remember`` capability and recalled at planning time
by full-text search (SQLite FTS5, PostgreSQL ``to_tsvector``), only ever within the same
organisation, user and agent.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text

from agentrt.context import RuntimeSessionContext
from agentrt.llm._base import ChatMessage
from agentrt.skills._base import FunctionSkill, StepContext
from agentrt.store.db import Database
from agentrt.store.models import Memory

_WORD = re.compile(r"[\w']{3,}", re.UNICODE)
_STOP_WORDS = frozenset(
    {
        "the",
        "and",
        "for",
        "are",
        "but",
        "not",
        "you",
        "your",
        "yours",
        "all",
        "any",
        "can",
        "had",
        "her",
        "was",
        "one",
        "our",
        "out",
        "has",
        "have",
        "him",
        "his",
        "how",
        "its",
        "may",
        "new",
        "now",
        "old",
        "see",
        "two",
        "way",
        "who",
        "did",
        "get",
        "let",
        "put",
        "say",
        "she",
        "too",
        "use",
        "that",
        "with",
        "this",
        "from",
        "they",
        "will",
        "would",
        "there",
        "their",
        "what",
        "about",
        "which",
        "when",
        "make",
        "like",
        "time",
        "just",
        "know",
        "take",
        "into",
        "them",
        "some",
        "could",
        "than",
        "then",
        "look",
        "only",
        "come",
        "over",
        "also",
        "back",
        "after",
        "work",
        "first",
        "well",
        "even",
        "want",
        "because",
        "these",
        "give",
        "most",
        "what's",
        "where",
        "why",
        "does",
        "doing",
        "done",
        "been",
        "being",
        "were",
        "here",
        "please",
        "tell",
        "me",
        "my",
        "mine",
        "i'm",
        "is",
        "am",
        "do",
    }
)
MAX_FACT_LENGTH = 2000


def _terms(query: str, limit: int = 24) -> list[str]:
    seen: dict[str, None] = {}
    for word in _WORD.findall(query.lower()):
        if word not in _STOP_WORDS:
            seen.setdefault(word.replace("'", ""), None)
    return [w for w in seen if w][:limit]


class StoreMemory:
    def __init__(self, db: Database, conversation: Sequence[ChatMessage] = ()) -> None:
        self._db = db
        self._conversation = list(conversation)

    async def conversation(self, ctx: RuntimeSessionContext) -> list[ChatMessage]:
        return list(self._conversation)

    async def record_turn(self, ctx: RuntimeSessionContext, user_message: str, answer: str) -> None:
        """Messages are stored by the service, as nodes of the session's message tree."""

    async def remember(self, ctx: RuntimeSessionContext, fact: str) -> str:
        async with self._db.session() as session, session.begin():
            row = Memory(org_id=ctx.org_id, user_id=ctx.user_id, agent_id=ctx.agent_id, content=fact)
            session.add(row)
            await session.flush()
            if self._db.is_sqlite:
                await session.execute(
                    text(
                        "INSERT INTO memories_fts (memory_id, org_id, user_id, agent_id, content) "
                        "VALUES (:id, :org, :user, :agent, :content)"
                    ),
                    {"id": row.id, "org": ctx.org_id, "user": ctx.user_id, "agent": ctx.agent_id, "content": fact},
                )
            return row.id

    async def recall(self, ctx: RuntimeSessionContext, query: str, limit: int = 5) -> list[str]:
        terms = _terms(query)
        if not terms:
            return []
        scope = {"org": ctx.org_id, "user": ctx.user_id, "agent": ctx.agent_id, "limit": limit}
        if self._db.is_sqlite:
            sql = text(
                "SELECT content FROM memories_fts WHERE memories_fts MATCH :q AND org_id = :org "
                "AND user_id = :user AND agent_id = :agent ORDER BY rank LIMIT :limit"
            )
            params: dict[str, Any] = {**scope, "q": " OR ".join(f'"{t}"' for t in terms)}
        else:
            sql = text(
                "SELECT content FROM memories WHERE org_id = :org AND user_id = :user AND agent_id = :agent "
                "AND to_tsvector('simple', content) @@ to_tsquery('simple', :q) "
                "ORDER BY ts_rank(to_tsvector('simple', content), to_tsquery('simple', :q)) DESC LIMIT :limit"
            )
            params = {**scope, "q": " | ".join(terms)}
        async with self._db.session() as session:
            return list((await session.execute(sql, params)).scalars().all())


def remember_skill(db: Database) -> FunctionSkill:
    async def remember(args: dict[str, Any], ctx: StepContext) -> dict[str, Any]:
        fact = str(args["fact"]).strip()
        memory_id = await StoreMemory(db).remember(ctx.runtime_context, fact)
        return {"remembered": fact, "memory_id": memory_id}

    return FunctionSkill(
        name="remember",
        description="Save a fact about the user for later conversations (recalled when relevant).",
        fn=remember,
        input_schema={
            "type": "object",
            "properties": {"fact": {"type": "string", "minLength": 1, "maxLength": MAX_FACT_LENGTH}},
            "required": ["fact"],
            "additionalProperties": False,
        },
        output_description="{remembered, memory_id}",
        version="1.0.0",
    )
