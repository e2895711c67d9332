"""Server-Sent Events for run logs: ``id:`` is the event's ``seq``, ``event:`` its type,
``data:`` the whole event as JSON. Proxies are told not to buffer."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from sse_starlette import EventSourceResponse, ServerSentEvent

from agentrt.events import RunEvent

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def to_sse(event: RunEvent) -> ServerSentEvent:
    return ServerSentEvent(
        data=json.dumps(event, ensure_ascii=False, separators=(",", ":")), event=event["type"], id=str(event["seq"])
    )


def event_stream(events: AsyncIterator[RunEvent], *, ping_seconds: float) -> EventSourceResponse:
    async def body() -> AsyncIterator[ServerSentEvent]:
        async for event in events:
            yield to_sse(event)

    return EventSourceResponse(body(), headers=SSE_HEADERS, ping=int(max(1, ping_seconds)))
