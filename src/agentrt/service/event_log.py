"""The run event log: every event stored with its ``seq`` before anyone is sent it.

Writes from all runs go through one writer task that commits whatever has queued up in
one transaction (group commit). An appender does not wait for the commit — the queue
keeps each run's order and nothing is sent before it is stored — except for a run's
terminal event, so a finished run's log is complete when its task ends.

Followers in this process get each event pushed right after its commit; they read the
store only to catch up (a reconnect, a gap) and, while idle, every ``POLL_SECONDS`` to see
events another process wrote.
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
MAX_QUEUED = 50_000
"""Back-pressure: appenders wait when this many events are waiting to be written."""

Pending = tuple[RunEvent, "asyncio.Future[None] | None"]


class EventLog:
    def __init__(self, db: Database, *, batch_ms: float = 2.0) -> None:
        self._db = db
        self._batch_seconds = batch_ms / 1000
        self._queue: asyncio.Queue[Pending] = asyncio.Queue(maxsize=MAX_QUEUED)
        self._followers: dict[str, set[asyncio.Queue[RunEvent]]] = defaultdict(set)
        self._writer: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._writer = asyncio.create_task(self._write_loop(), name="agentrt-event-writer")

    async def close(self, *, drain_seconds: float = 5.0) -> None:
        """Write what is queued (for at most ``drain_seconds``), then stop the writer."""
        if self._writer is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), drain_seconds)
        self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer
        self._writer = None

    async def append(self, event: RunEvent, *, wait: bool = False) -> None:
        """Queue the event for storing; with ``wait`` (and always for a terminal event),
        return only once it is committed."""
        if not (wait or event["type"] in TERMINAL_EVENTS):
            await self._queue.put((event, None))
            return
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
                await self._insert([event for event, _ in batch])
            except Exception as exc:  # a failed batch fails its waiters, not the writer
                log.exception("storing %d run events failed", len(batch))
                for _, future in batch:
                    if future is not None and not future.done():
                        future.set_exception(exc)
            else:
                for event, future in batch:
                    if future is not None and not future.done():
                        future.set_result(None)
                    for follower in self._followers.get(event["run_id"], ()):
                        follower.put_nowait(event)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _insert(self, events: list[RunEvent]) -> None:
        async with self._db.session() as session, session.begin():
            await session.execute(
                insert(RunEventRow),
                [{"run_id": e["run_id"], "seq": e["seq"], "type": e["type"], "data": e["data"]} for e in events],
            )

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
        async with self._db.session() as session:
            seq = await session.scalar(
                select(RunEventRow.seq).where(RunEventRow.run_id == run_id).order_by(RunEventRow.seq.desc()).limit(1)
            )
        return int(seq or 0)

    async def follow(self, run_id: str, after_seq: int = 0) -> AsyncIterator[RunEvent]:
        """The run's events after ``after_seq``, live, until its terminal event."""
        pushed: asyncio.Queue[RunEvent] = asyncio.Queue()
        self._followers[run_id].add(pushed)  # before reading, so nothing falls in between
        try:
            while True:
                events = await self.read(run_id, after_seq)
                for event in events:
                    yield event
                    after_seq = event["seq"]
                    if event["type"] in TERMINAL_EVENTS:
                        return
                if events:
                    continue  # more history than one read returns
                while True:
                    try:
                        event = await asyncio.wait_for(pushed.get(), POLL_SECONDS)
                    except TimeoutError:
                        break  # idle: look in the store (another process may be writing)
                    if event["seq"] <= after_seq:
                        continue
                    if event["seq"] != after_seq + 1:
                        break  # a gap: catch up from the store
                    yield event
                    after_seq = event["seq"]
                    if event["type"] in TERMINAL_EVENTS:
                        return
        finally:
            self._followers[run_id].discard(pushed)
            if not self._followers[run_id]:
                self._followers.pop(run_id, None)


def stream_error(message: str, cause: dict[str, Any] | None = None) -> dict[str, Any]:
    """The seed's stream-failure payload: ``{code: SSE_STREAM_ERROR, message}``, plus the cause."""
    data: dict[str, Any] = {"code": "SSE_STREAM_ERROR", "message": message}
    if cause:
        data["cause"] = cause
    return data
