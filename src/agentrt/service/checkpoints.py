"""LangGraph checkpointers in the platform's own database (SQLite file or PostgreSQL)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aiosqlite
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from sqlalchemy.engine import make_url

from agentrt.runtime.runner import checkpoint_serializer


@contextlib.asynccontextmanager
async def open_checkpointer(database_url: str) -> AsyncIterator[BaseCheckpointSaver[Any]]:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        async with aiosqlite.connect(url.database or ":memory:") as conn:
            await conn.execute("PRAGMA journal_mode=WAL")
            await conn.execute("PRAGMA busy_timeout=10000")
            saver = AsyncSqliteSaver(conn, serde=checkpoint_serializer())
            await saver.setup()
            yield saver
        return
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from psycopg.rows import dict_row
    from psycopg_pool import AsyncConnectionPool

    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    async with AsyncConnectionPool(
        conninfo, max_size=20, open=False, kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
    ) as pool:
        saver_pg = AsyncPostgresSaver(pool, serde=checkpoint_serializer())  # type: ignore[arg-type]
        await saver_pg.setup()
        yield saver_pg
