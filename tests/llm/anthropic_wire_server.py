"""A real HTTP server on 127.0.0.1 that speaks Anthropic's Messages wire format.

Tests queue ``Reply`` objects; each ``POST /v1/messages`` takes the next one and the
server records every request (headers and JSON body). Replies can be a JSON message, an
error status with headers (``retry-after``), an SSE stream (``event: message_start`` ...
``event: message_stop``, each event with its ``event:`` line as Anthropic sends it), or a
stall (the server keeps the request waiting). ``GET /v1/models`` lists ``models``.

Like the real API, a request without the right ``x-api-key`` gets a 401 - whose message
echoes the credential it was sent, as a careless proxy might, so tests can check that no
error text ever carries the key. It runs uvicorn + starlette on the test's own event
loop, on a random free port.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


@dataclass
class Reply:
    """One scripted answer. ``stall`` seconds pass first (or until the server stops);
    ``sse`` (a list of ``(event, data)`` pairs, data a dict or raw string) makes it a
    stream; ``stall_after`` events, the stream stalls instead."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    sse: list[tuple[str | None, Any]] | None = None
    stall: float = 0.0
    stall_after: int | None = None
    text: str | None = None
    """A raw body instead of JSON, sent as ``media_type``."""
    media_type: str = "text/plain"


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


def usage(input_tokens: int, output_tokens: int, **extra: int) -> dict[str, Any]:
    return {"input_tokens": input_tokens, "output_tokens": output_tokens, **extra}


def message(
    *content: dict[str, Any],
    stop_reason: str = "end_turn",
    input_tokens: int = 11,
    output_tokens: int = 7,
) -> dict[str, Any]:
    return {
        "id": "msg_test",
        "type": "message",
        "role": "assistant",
        "model": "claude-test",
        "content": list(content),
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage(input_tokens, output_tokens),
    }


def text_block(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def tool_block(name: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": "tool_use", "id": "toolu_test", "name": name, "input": data}


def error_body(type_: str, message_text: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": type_, "message": message_text}}


def error(status: int, type_: str, message_text: str, *, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status=status, body=error_body(type_, message_text), headers=headers or {})


def _start(input_tokens: int, *, cache_read: int = 0) -> tuple[str, dict[str, Any]]:
    start_usage = usage(input_tokens, 1)
    if cache_read:
        start_usage["cache_read_input_tokens"] = cache_read
    body = message(input_tokens=input_tokens, output_tokens=1)
    body.update(content=[], stop_reason=None, usage=start_usage)
    return ("message_start", {"type": "message_start", "message": body})


def _end(stop_reason: str, output_tokens: int) -> list[tuple[str | None, Any]]:
    return [
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": output_tokens},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]


def text_stream(
    *texts: str,
    input_tokens: int = 5,
    output_tokens: int = 3,
    cache_read: int = 0,
    stop_reason: str = "end_turn",
    stall_after: int | None = None,
) -> Reply:
    """A streamed text answer, one ``text_delta`` per text (a ``ping`` after the first)."""
    events: list[tuple[str | None, Any]] = [
        _start(input_tokens, cache_read=cache_read),
        (
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
        ("ping", {"type": "ping"}),
    ]
    events += [
        (
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}},
        )
        for text in texts
    ]
    events.append(("content_block_stop", {"type": "content_block_stop", "index": 0}))
    events += _end(stop_reason, output_tokens)
    return Reply(sse=events, stall_after=stall_after)


def tool_stream(
    name: str,
    *parts: str,
    preamble: str | None = None,
    input_tokens: int = 20,
    output_tokens: int = 9,
    stop_reason: str = "tool_use",
) -> Reply:
    """A streamed tool call whose input JSON arrives split across ``input_json_delta``s,
    optionally after a text block (``preamble``)."""
    events: list[tuple[str | None, Any]] = [_start(input_tokens)]
    index = 0
    if preamble is not None:
        events += [
            (
                "content_block_start",
                {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            ),
            (
                "content_block_delta",
                {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": preamble}},
            ),
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ]
        index = 1
    events.append(
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": index,
                "content_block": {"type": "tool_use", "id": "toolu_test", "name": name, "input": {}},
            },
        )
    )
    events += [
        (
            "content_block_delta",
            {"type": "content_block_delta", "index": index, "delta": {"type": "input_json_delta", "partial_json": p}},
        )
        for p in parts
    ]
    events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    events += _end(stop_reason, output_tokens)
    return Reply(sse=events)


class AnthropicWireServer:
    """``async with AnthropicWireServer(api_key) as server:`` then ``server.base_url``
    (the origin: the SDK appends ``/v1/messages``)."""

    def __init__(self, api_key: str, *, models: list[str] | None = None) -> None:
        self.api_key = api_key
        self.models = models if models is not None else ["claude-test", "claude-test-mini"]
        self.replies: list[Reply] = []
        self.requests: list[Recorded] = []
        self.base_url = ""
        self._release = asyncio.Event()
        self._server: uvicorn.Server | None = None
        self._sock: socket.socket | None = None
        app = Starlette(
            routes=[
                Route("/v1/messages", self._messages, methods=["POST"]),
                Route("/v1/models", self._list_models, methods=["GET"]),
            ]
        )
        self._config = uvicorn.Config(
            app,
            log_level="critical",
            lifespan="off",
            ws="none",
            http="h11",
            access_log=False,
            timeout_graceful_shutdown=2,
        )

    def queue(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    @property
    def request_count(self) -> int:
        return len(self.requests)

    async def __aenter__(self) -> AnthropicWireServer:
        sock = self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        # As in the OpenAI wire server: drive uvicorn's startup directly, no signal handlers.
        server = self._server = uvicorn.Server(self._config)
        self._config.load()
        server.lifespan = self._config.lifespan_class(self._config)
        await server.startup(sockets=[sock])
        if not server.started:
            raise RuntimeError("the test server did not start")
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._release.set()
        server, sock = self._server, self._sock
        assert server is not None and sock is not None
        for listener in server.servers:
            listener.close()
        for connection in list(server.server_state.connections):
            connection.shutdown()
        for _ in range(400):  # up to 2 s for in-flight requests to finish
            if not (server.server_state.connections or server.server_state.tasks):
                break
            await asyncio.sleep(0.005)
        for task in list(server.server_state.tasks):
            task.cancel()
        for listener in server.servers:
            await listener.wait_closed()
        sock.close()

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._release.wait(), seconds)

    def _unauthorized(self, request: Request) -> Response | None:
        sent = request.headers.get("x-api-key", "")
        if sent == self.api_key:
            return None
        shown = sent or request.headers.get("authorization", "")
        return JSONResponse(error_body("authentication_error", f"invalid x-api-key: {shown}"), status_code=401)

    async def _list_models(self, request: Request) -> Response:
        self.requests.append(Recorded("GET", request.url.path, dict(request.headers), {}))
        denied = self._unauthorized(request)
        if denied is not None:
            return denied
        data = [
            {"type": "model", "id": name, "display_name": name, "created_at": "2025-01-01T00:00:00Z"}
            for name in self.models
        ]
        first, last = (data[0]["id"], data[-1]["id"]) if data else (None, None)
        return JSONResponse({"data": data, "has_more": False, "first_id": first, "last_id": last})

    async def _messages(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(Recorded("POST", request.url.path, dict(request.headers), body))
        denied = self._unauthorized(request)
        if denied is not None:
            return denied
        if not self.replies:
            return JSONResponse(
                error_body("invalid_request_error", "the test queued no reply for this request"), status_code=400
            )
        reply = self.replies.pop(0)
        if reply.stall:
            await self._pause(reply.stall)
        if reply.text is not None:
            return Response(reply.text, status_code=reply.status, headers=reply.headers, media_type=reply.media_type)
        if reply.sse is None:
            return JSONResponse(reply.body, status_code=reply.status, headers=reply.headers)
        return StreamingResponse(
            self._events(reply), status_code=reply.status, headers=reply.headers, media_type="text/event-stream"
        )

    async def _events(self, reply: Reply) -> AsyncIterator[bytes]:
        assert reply.sse is not None
        for index, (event, data) in enumerate(reply.sse):
            if reply.stall_after is not None and index == reply.stall_after:
                await self._pause(30)
                return
            payload = data if isinstance(data, str) else json.dumps(data)
            head = f"event: {event}\n" if event is not None else ""
            yield f"{head}data: {payload}\n\n".encode()
