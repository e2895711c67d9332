"""full-text search over long-term memories

SQLite: an FTS5 table kept beside ``memories``; PostgreSQL: a GIN index on the
``simple`` text-search vector of ``memories.content``.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE memories_fts USING fts5("
            "memory_id UNINDEXED, org_id UNINDEXED, user_id UNINDEXED, agent_id UNINDEXED, content)"
        )
    else:
        op.execute("CREATE INDEX ix_memories_content_fts ON memories USING GIN (to_tsvector('simple', content))")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE memories_fts")
    else:
        op.execute("DROP INDEX ix_memories_content_fts")
