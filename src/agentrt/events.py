"""Run events: the one log of a run, replayable, shared by SSE and the process protocol.

An event is ``{"type", "seq", "run_id", "data"}``; ``seq`` counts from 1 per run with no
gap, continuing across a pause and resume. Sinks receive events in ``seq`` order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Literal, Protocol, TypedDict

EventType = Literal[
    "run_started",
    "thinking",
    "plan",
    "step_started",
    "step_finished",
    "step_failed",
    "approval_required",
    "approval_resolved",
    "replan",
    "delegation",
    "token",
    "message",
    "done",
    "error",
]

EVENT_TYPES: tuple[str, ...] = EventType.__args__  # type: ignore[attr-defined]


class RunEvent(TypedDict):
    type: EventType
    seq: int
    run_id: str
    data: dict[str, Any]


class EventSink(Protocol):
    """Receives each event once, in order. Persisting sinks store it before returning."""

    async def __call__(self, event: RunEvent) -> None: ...


async def discard_event(event: RunEvent) -> None:
    """A sink that drops everything (the seed's bare ``graph.ainvoke(state)``)."""


class ListSink:
    """Collects events in memory; handy for tests and for the run result."""

    def __init__(self) -> None:
        self.events: list[RunEvent] = []

    async def __call__(self, event: RunEvent) -> None:
        self.events.append(event)

    def types(self) -> list[str]:
        return [event["type"] for event in self.events]


class EventEmitter:
    """Numbers a run's events and hands them to its sink, one at a time."""

    def __init__(
        self, run_id: str, sink: EventSink | Callable[[RunEvent], Awaitable[None]], *, last_seq: int = 0
    ) -> None:
        self.run_id = run_id
        self.seq = last_seq
        self._sink = sink
        self._lock = asyncio.Lock()

    async def emit(self, type: EventType, data: dict[str, Any] | None = None) -> RunEvent:
        async with self._lock:
            self.seq += 1
            event: RunEvent = {"type": type, "seq": self.seq, "run_id": self.run_id, "data": data or {}}
            await self._sink(event)
            return event
