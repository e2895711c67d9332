"""The baseline for bench/api_bench.py: a bare FastAPI + sse-starlette chat endpoint.

    .venv/bin/python bench/bare_sse_app.py --port 8123 --events events.json

``POST /chat {"message": ...}`` streams the events in ``events.json`` (a list of agentrt run
events, as recorded from one agentrt chat) with a new ``run_id`` each time, encoded as agentrt
encodes them (``id:`` the seq, ``event:`` the type, ``data:`` compact JSON), with the same
headers and ping interval. There is no database, no authentication and no run: it measures
what HTTP, FastAPI, sse-starlette and uvicorn cost for the same stream. It is served by uvicorn
with the settings of ``agentrt serve`` (one process, asyncio loop, log level warning).
"""

from __future__ import annotations

import argparse
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel
from sse_starlette import EventSourceResponse, ServerSentEvent

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
PING_SECONDS = 15


class ChatRequest(BaseModel):
    message: str


def create_app(events: list[dict[str, Any]]) -> FastAPI:
    app = FastAPI(title="bare SSE baseline")

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/chat", response_class=EventSourceResponse)
    async def chat(body: ChatRequest) -> EventSourceResponse:
        run_id = f"run_{uuid.uuid4().hex}"

        async def stream() -> AsyncIterator[ServerSentEvent]:
            for template in events:
                event = {**template, "run_id": run_id}
                yield ServerSentEvent(
                    data=json.dumps(event, ensure_ascii=False, separators=(",", ":")),
                    event=str(event["type"]),
                    id=str(event["seq"]),
                )

        return EventSourceResponse(stream(), headers=SSE_HEADERS, ping=PING_SECONDS)

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--events", type=Path, required=True, help="JSON list of the events to stream")
    args = parser.parse_args()
    events = json.loads(args.events.read_text())
    if not isinstance(events, list) or not events:
        raise SystemExit(f"{args.events}: expected a non-empty JSON list of events")
    uvicorn.run(create_app(events), host="127.0.0.1", port=args.port, log_level="warning", timeout_graceful_shutdown=5)


if __name__ == "__main__":
    main()
