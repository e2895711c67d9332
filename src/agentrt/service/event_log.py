"""The run event log: every event stored with its ``seq`` before anyone is sent it.

Writes from all runs go through one writer task that commits whatever has queued up in
one transaction (group commit), so persisting every token costs one fsync per batch,
not per event. Readers follow a run by reading the store after the last ``seq`` they
saw and waiting for a wake-up from the writer (or a short poll, which also picks up
events written by another process).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import insert, select

from agentrt.events import RunEvent
from agentrt.store.db import Database
from agentrt.store.models import RunEventRow

log = logging.getLogger(__name__)

TERMINAL_EVENTS = frozenset({"done", "error"})
POLL_SECONDS = 1.0


class EventLog:
    def __init__(self, db: Database, *, batch_ms: float = 2.0) -> None:
        self._db = db
        self._batch_seconds = batch_ms / 1000
        self._queue: asyncio.Queue[tuple[RunEvent, asyncio.Future[None]]] = asyncio.Queue()
        self._wakeups: dict[str, set[asyncio.Event]] = defaultdict(set)
        self._writer: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._writer = asyncio.create_task(self._write_loop(), name="agentrt-event-writer")

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
            self._writer = None

    async def append(self, event: RunEvent) -> None:
        """Store the event; returns once it is committed and followers were woken."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await self._queue.put((event, future))
        # Shielded: an appender cancelled mid-write still gets its event stored, in order.
        await asyncio.shield(future)

    async def _write_loop(self) -> None:
        while True:
            batch = [await self._queue.get()]
            if self._batch_seconds:
                await asyncio.sleep(self._batch_seconds)
            while not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                async with self._db.session() as session, session.begin():
                    await session.execute(
                        insert(RunEventRow),
                        [
                            {"run_id": e["run_id"], "seq": e["seq"], "type": e["type"], "data": e["data"]}
                            for e, _ in batch
                        ],
                    )
            except Exception as exc:  # a failed batch fails its appenders, not the writer
                log.exception("storing %d run events failed", len(batch))
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for event, future in batch:
                if not future.done():
                    future.set_result(None)
                for wakeup in self._wakeups.get(event["run_id"], ()):
                    wakeup.set()

    async def read(self, run_id: str, after_seq: int = 0, limit: int = 1000) -> list[RunEvent]:
        async with self._db.session() as session:
            rows = (
                await session.execute(
                    select(RunEventRow.seq, RunEventRow.type, RunEventRow.data)
                    .where(RunEventRow.run_id == run_id, RunEventRow.seq > after_seq)
                    .order_by(RunEventRow.seq)
                    .limit(limit)
                )
            ).all()
        return [{"type": r.type, "seq": r.seq, "run_id": run_id, "data": r.data} for r in rows]

    async def last_seq(self, run_id: str) -> int:
        events = await self.read_last(run_id)
        return events["seq"] if events else 0

    async def read_last(self, run_id: str) -> RunEvent | None:
        async with self._db.session() as session:
            row = (
                await session.execute(
                    select(RunEventRow.seq, RunEventRow.type, RunEventRow.data)
                    .where(RunEventRow.run_id == run_id)
                    .order_by(RunEventRow.seq.desc())
                    .limit(1)
                )
            ).first()
        if row is None:
            return None
        return {"type": row.type, "seq": row.seq, "run_id": run_id, "data": row.data}

    async def follow(self, run_id: str, after_seq: int = 0) -> AsyncIterator[RunEvent]:
        """The run's events after ``after_seq``, live, until its terminal event."""
        wakeup = asyncio.Event()
        self._wakeups[run_id].add(wakeup)
        try:
            while True:
                wakeup.clear()
                events = await self.read(run_id, after_seq)
                for event in events:
                    yield event
                    after_seq = event["seq"]
                    if event["type"] in TERMINAL_EVENTS:
                        return
                if events:
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wakeup.wait(), POLL_SECONDS)
        finally:
            self._wakeups[run_id].discard(wakeup)
            if not self._wakeups[run_id]:
                self._wakeups.pop(run_id, None)


def stream_error(message: str, cause: dict[str, Any] | None = None) -> dict[str, Any]:
    """The seed's stream-failure payload: ``{code: SSE_STREAM_ERROR, message}``, plus the cause."""
    data: dict[str, Any] = {"code": "SSE_STREAM_ERROR", "message": message}
    if cause:
        data["cause"] = cause
    return data
