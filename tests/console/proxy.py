"""A reverse proxy for the console tests, on 127.0.0.1, as one in front of agentrt would be.

It serves the server under a URL prefix (``/agentrt/`` → ``/``), so every console test also
checks that the page works behind a proxy, and records each request the browser makes
(method, path, headers) and the response headers. On demand it misbehaves the way networks
do, to event streams only:

* ``cut_next_stream(after_bytes)`` forwards that many bytes of the next event stream, then
  drops the connection (a TCP abort, mid-event) — the server's run goes on;
* ``hold_next_stream(seconds)`` delays the next event stream's response;
* ``throttle_streams(chunk, interval)`` trickles event streams, ``chunk`` bytes at a time.

Each request gets an upstream connection of its own (``Connection: close`` both ways).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from dataclasses import dataclass, field

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade"}


@dataclass
class Exchange:
    method: str
    path: str
    headers: dict[str, str]
    status: int = 0
    response_headers: dict[str, str] = field(default_factory=dict)
    cut: bool = False


def _parse_head(head: bytes) -> tuple[str, list[tuple[str, str]]]:
    lines = head.decode("latin-1").split("\r\n")
    headers = []
    for line in lines[1:]:
        if line and ":" in line:
            name, value = line.split(":", 1)
            headers.append((name.strip(), value.strip()))
    return lines[0], headers


def _head(first: str, headers: list[tuple[str, str]]) -> bytes:
    return (first + "\r\n" + "".join(f"{n}: {v}\r\n" for n, v in headers) + "\r\n").encode("latin-1")


class Proxy:
    def __init__(self, upstream_port: int, prefix: str = "/agentrt") -> None:
        self.upstream_port = upstream_port
        self.prefix = prefix
        self.port = 0
        self.exchanges: list[Exchange] = []
        self.cuts = 0
        self._lock = threading.Lock()
        self._cut_after: int | None = None
        self._hold: float | None = None
        self._throttle: tuple[int, float] | None = None
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="console-test-proxy", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.prefix}/"

    # --- control (from the test's thread) ---------------------------------------------
    def start(self) -> Proxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(10)
        return self

    def stop(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def cut_next_stream(self, after_bytes: int) -> None:
        with self._lock:
            self._cut_after = after_bytes

    def hold_next_stream(self, seconds: float) -> None:
        with self._lock:
            self._hold = seconds

    def throttle_streams(self, chunk: int, interval: float) -> None:
        with self._lock:
            self._throttle = (chunk, interval)

    def unthrottle(self) -> None:
        with self._lock:
            self._throttle = None

    def seen(self, method: str | None = None, contains: str = "") -> list[Exchange]:
        with self._lock:
            return [x for x in self.exchanges if (method is None or x.method == method) and contains in x.path]

    def mark(self) -> int:
        """The number of requests so far (to look only at later ones)."""
        with self._lock:
            return len(self.exchanges)

    def since(self, mark: int) -> list[Exchange]:
        with self._lock:
            return list(self.exchanges[mark:])

    # --- the proxy (in its own thread's event loop) -------------------------------------
    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream: asyncio.StreamWriter | None = None
        try:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                return
            first, headers = _parse_head(head)
            method, target, version = first.split(" ", 2)
            length = int(next((v for n, v in headers if n.lower() == "content-length"), "0"))
            body = await reader.readexactly(length) if length else b""
            if target == self.prefix or target.startswith(self.prefix + "?"):
                writer.write(_head("HTTP/1.1 301 Moved Permanently", [("Location", self.prefix + "/"), *_closing()]))
                return
            if not target.startswith(self.prefix + "/"):
                writer.write(_head("HTTP/1.1 404 Not Found", [("Content-Length", "0"), ("Connection", "close")]))
                return
            exchange = Exchange(method, target, {n.lower(): v for n, v in headers})
            with self._lock:
                self.exchanges.append(exchange)
            up_reader, upstream = await asyncio.open_connection("127.0.0.1", self.upstream_port)
            forwarded = [(n, v) for n, v in headers if n.lower() not in HOP_BY_HOP]
            forwarded += [("Connection", "close"), ("X-Forwarded-Prefix", self.prefix)]
            upstream.write(_head(f"{method} {target[len(self.prefix) :]} {version}", forwarded) + body)
            await upstream.drain()
            status_line, response_headers = _parse_head(await up_reader.readuntil(b"\r\n\r\n"))
            exchange.status = int(status_line.split(" ", 2)[1])
            exchange.response_headers = {n.lower(): v for n, v in response_headers}
            stream = exchange.response_headers.get("content-type", "").startswith("text/event-stream")
            cut_after = hold = throttle = None
            if stream:
                with self._lock:
                    cut_after, self._cut_after = self._cut_after, None
                    hold, self._hold = self._hold, None
                    throttle = self._throttle
            if hold:
                await asyncio.sleep(hold)
            kept = [(n, v) for n, v in response_headers if n.lower() not in HOP_BY_HOP]
            writer.write(_head(status_line, [*kept, ("Connection", "close")]))
            await writer.drain()
            pump = asyncio.ensure_future(self._pump(up_reader, writer, exchange, cut_after, throttle))
            gone = asyncio.ensure_future(reader.read(1))  # the browser closing its side (an abort)
            await asyncio.wait({pump, gone}, return_when=asyncio.FIRST_COMPLETED)
            for task in (pump, gone):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                    await task
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            pass  # the proxy stops: end this connection quietly (asyncio logs a cancelled handler)
        finally:
            for w in (writer, upstream):
                if w is not None:
                    with contextlib.suppress(Exception):
                        w.close()

    async def _pump(
        self,
        source: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        exchange: Exchange,
        cut_after: int | None,
        throttle: tuple[int, float] | None,
    ) -> None:
        sent = 0
        while True:
            chunk = await source.read(65536)
            if not chunk:
                await writer.drain()
                return
            if cut_after is not None and sent + len(chunk) >= cut_after:
                writer.write(chunk[: cut_after - sent])
                await writer.drain()
                await asyncio.sleep(0.05)
                exchange.cut = True
                with self._lock:
                    self.cuts += 1
                writer.transport.abort()
                return
            if throttle:
                size, interval = throttle
                for start in range(0, len(chunk), size):
                    writer.write(chunk[start : start + size])
                    await writer.drain()
                    await asyncio.sleep(interval)
            else:
                writer.write(chunk)
                await writer.drain()
            sent += len(chunk)


def _closing() -> list[tuple[str, str]]:
    return [("Content-Length", "0"), ("Connection", "close")]
