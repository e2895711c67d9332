"""A real HTTP server on 127.0.0.1 that speaks OpenAI's chat-completions wire format.

Tests queue ``Reply`` objects; each POST to ``/v1/chat/completions`` takes the next one
and the server records every request (headers and JSON body). Replies can be a JSON
answer, an error status with headers (``Retry-After``), an SSE stream (``data: {...}``
events ending in ``data: [DONE]``), or a stall (the server keeps the request waiting).
It runs uvicorn + starlette on the test's own event loop, on a random free port.
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
    ``sse`` (a list of events, dicts or strings) makes it a stream, with ``[DONE]``
    appended unless ``done=False``; ``stall_after`` events, the stream stalls instead."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    sse: list[Any] | None = None
    done: bool = True
    stall: float = 0.0
    stall_after: int | None = None
    text: str | None = None
    """A raw body instead of JSON, sent as ``media_type``."""
    media_type: str = "text/plain"


@dataclass
class Recorded:
    headers: dict[str, str]
    body: dict[str, Any]


def completion(
    content: str | None,
    *,
    prompt_tokens: int = 11,
    completion_tokens: int = 7,
    finish_reason: str = "stop",
    usage: bool = True,
) -> Reply:
    body: dict[str, Any] = {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "test-model",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "finish_reason": finish_reason,
                "logprobs": None,
            }
        ],
    }
    if usage:
        body["usage"] = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
    return Reply(body=body)


def chunk(content: str | None = None, *, finish_reason: str | None = None, role: str | None = None) -> dict[str, Any]:
    delta: dict[str, Any] = {}
    if role is not None:
        delta["role"] = role
    if content is not None:
        delta["content"] = content
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": "test-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}],
        "usage": None,
    }


def usage_chunk(prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": "test-model",
        "choices": [],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def stream(*texts: str, usage: tuple[int, int] | None = (5, 3), stall_after: int | None = None) -> Reply:
    events: list[Any] = [chunk(role="assistant", content="")]
    events += [chunk(text) for text in texts]
    events.append(chunk(finish_reason="stop"))
    if usage is not None:
        events.append(usage_chunk(*usage))
    return Reply(sse=events, stall_after=stall_after)


def error(status: int, message: str, *, headers: dict[str, str] | None = None, type_: str = "server_error") -> Reply:
    body = {"error": {"message": message, "type": type_, "param": None, "code": None}}
    return Reply(status=status, body=body, headers=headers or {})


class OpenAIWireServer:
    """``async with OpenAIWireServer(api_key) as server:`` then ``server.base_url``."""

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.replies: list[Reply] = []
        self.requests: list[Recorded] = []
        self.base_url = ""
        self._release = asyncio.Event()
        self._server: uvicorn.Server | None = None
        self._sock: socket.socket | None = None
        app = Starlette(routes=[Route("/v1/chat/completions", self._chat, methods=["POST"])])
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

    async def __aenter__(self) -> OpenAIWireServer:
        sock = self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        # Drive uvicorn's startup directly rather than ``serve()``: that would install
        # signal handlers, and its shutdown polls in 0.1 s steps, which adds up over a suite.
        server = self._server = uvicorn.Server(self._config)
        self._config.load()
        server.lifespan = self._config.lifespan_class(self._config)
        await server.startup(sockets=[sock])
        if not server.started:
            raise RuntimeError("the test server did not start")
        self.base_url = f"http://127.0.0.1:{port}/v1"
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

    async def _chat(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(Recorded(headers=dict(request.headers), body=body))
        auth = request.headers.get("authorization", "")
        if auth != f"Bearer {self.api_key}":
            # Like a careless proxy, echo the credential it was sent.
            return JSONResponse(
                {"error": {"message": f"Incorrect API key provided: {auth}", "type": "invalid_request_error"}},
                status_code=401,
            )
        if not self.replies:
            return JSONResponse({"error": {"message": "the test queued no reply for this request"}}, status_code=400)
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
        for index, event in enumerate(reply.sse):
            if reply.stall_after is not None and index == reply.stall_after:
                await self._pause(30)
                return
            data = event if isinstance(event, str) else json.dumps(event)
            yield f"data: {data}\n\n".encode()
        if reply.done:
            yield b"data: [DONE]\n\n"
