"""``McpPool``: long-lived connections to MCP servers, shared by every run of the process.

One connection per (organisation, server id, hash of the server's definition), opened on
first use with the official SDK — over stdio (a child process) or streamable HTTP.

Each connection is owned by one task, which enters and exits the SDK's context managers
(anyio cancel scopes and task groups must be exited by the task that entered them) and
serves requests handed to it through a queue. Callers wait for their answer with their
own timeout; a server that crashes, hangs or cannot be reached becomes an ``McpError``
naming the server and the reason, and its connection is dropped so that the next use
starts a fresh one. Nothing a broken server does escapes as anything but ``McpError``.

A stdio server's environment is exactly what its definition gives, plus ``PATH``: never
this process's environment (which may hold the runtime's own secrets).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, TextIO, cast

import anyio

from agentrt.context import McpServerDefinition
from agentrt.mcp.errors import McpError

if TYPE_CHECKING:  # the SDK takes half a second to import: only a process that uses MCP pays for it
    from anyio.abc import TaskGroup
    from mcp_types import CallToolResult, Tool

    from mcp import Client

DEFAULT_LIST_TIMEOUT = 15.0
DEFAULT_CALL_TIMEOUT = 60.0
DEFAULT_IDLE_TIMEOUT = 600.0
"""A connection nobody used for this long is closed (and its child process ended)."""

_LIST_PAGE_CAP = 100
_STDERR_TAIL_CHARS = 300
_HTTP_CONNECT_TIMEOUT = 30.0
_HTTP_READ_TIMEOUT = 300.0

_ENV_VARIABLE = "AGENTRT_MCP_ENV"
_LAUNCHER = (
    "import json,os,sys\n"
    f"env=json.loads(os.environ[{_ENV_VARIABLE!r}])\n"
    "try:\n"
    "    os.execvpe(sys.argv[1],sys.argv[1:],env)\n"
    "except OSError as e:\n"
    "    sys.stderr.write(f'cannot start {sys.argv[1]!r}: {e}\\n')\n"
    "    sys.stderr.flush()\n"
    "    os._exit(127)\n"
)
"""Replaces itself with the server, in exactly the environment it is given. The SDK's
``stdio_client`` always adds HOME, SHELL, TERM, USER… to a child's environment; this
launcher (``python -I -S -c``, a few milliseconds) is how the child gets only its own."""

ConnectionKey = tuple[str, str, str]
Operation = Callable[["Client"], Awaitable[Any]]


def definition_hash(server: McpServerDefinition) -> str:
    """Changes whenever anything in the definition does (command, env, url, headers…)."""
    canonical = json.dumps(server.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def child_environment(server: McpServerDefinition) -> dict[str, str]:
    """A stdio server's whole environment: ``PATH`` (unless it sets its own) and its ``env``."""
    return {"PATH": os.environ.get("PATH", os.defpath), **server.env}


@dataclass
class _Failed:
    """The outcome of a request that did not succeed."""

    reason: str
    broken: bool
    """The connection cannot be used any more."""
    sent: bool = True
    """False when the request never reached the server (safe to send again)."""


@dataclass(eq=False)
class _Request:
    operation: Operation
    future: asyncio.Future[Any]
    scope: anyio.CancelScope | None = field(default=None)

    def abandon(self) -> None:
        """The caller stopped waiting: stop the work, and never deliver its outcome."""
        if not self.future.done():
            self.future.cancel()
        if self.scope is not None:
            self.scope.cancel()


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


def _describe(exc: BaseException) -> str:
    leaves = [leaf for leaf in _leaves(exc) if not isinstance(leaf, asyncio.CancelledError)] or [exc]
    leaf = leaves[0]
    from mcp.shared.exceptions import MCPError

    if isinstance(leaf, MCPError):
        return leaf.message.lower() if leaf.message == "Connection closed" else leaf.message
    text = str(leaf).strip()
    return f"{type(leaf).__name__}: {text}" if text else type(leaf).__name__


def _breaks_connection(exc: BaseException) -> bool:
    """Whether a failed request means the connection is unusable (vs. a refused request)."""
    from mcp.shared.exceptions import MCPError
    from mcp_types import CONNECTION_CLOSED, REQUEST_TIMEOUT

    if isinstance(exc, MCPError):
        return exc.code in (CONNECTION_CLOSED, REQUEST_TIMEOUT)
    # Invalid results (pydantic's ValidationError is a ValueError) and the SDK's own
    # refusals leave the connection as it was; anything else (closed streams, HTTP or
    # OS errors…) means it is gone.
    return not isinstance(exc, ValueError | TypeError | RuntimeError)


def _dispatcher_closed(client: Client) -> bool:
    """Whether the connection already ended (e.g. the server exited while idle).

    Best effort, through the SDK's private state: a request sent on a closed dispatcher
    fails without reaching the server, so it can safely go to a fresh connection instead.
    """
    dispatcher = getattr(client.session, "_dispatcher", None)
    return bool(getattr(dispatcher, "_closed", False))


class _Connection:
    """One live connection and the task that owns it."""

    def __init__(self, pool: McpPool, key: ConnectionKey, server: McpServerDefinition, connect_timeout: float) -> None:
        self.pool = pool
        self.key = key
        self.server = server
        self.ready = asyncio.Event()
        """Set once connected — or once it failed (then ``dead`` and ``error`` say why)."""
        self.connected = False
        self.dead = False
        self.error: str | None = None
        self._inbox: asyncio.Queue[_Request] = asyncio.Queue()
        self._pending: set[_Request] = set()
        self._scope = anyio.CancelScope()
        self._stderr: IO[bytes] | None = None
        # A fresh context: the owner must not inherit the first caller's context variables.
        loop = asyncio.get_running_loop()
        self.task = loop.create_task(self._main(), name=f"mcp-connection:{server.name}", context=contextvars.Context())
        # Bounded even when nobody waits any more: a server that never answers is not kept.
        self._connect_timer = loop.call_later(
            connect_timeout, self.drop, f"connecting timed out after {connect_timeout:g}s"
        )

    # --- used by callers -------------------------------------------------------------
    def submit(self, operation: Operation) -> _Request | None:
        """Queue a request; None when the connection is gone (get another one)."""
        if self.dead:
            return None
        request = _Request(operation, asyncio.get_running_loop().create_future())
        self._pending.add(request)
        self._inbox.put_nowait(request)
        return request

    def drop(self, reason: str) -> None:
        """Stop using this connection at once: whoever waits on it is answered now, and it
        closes in the background (a stdio child may take seconds to end)."""
        if not self.dead:
            self.dead = True
            self.error = reason
        self._connect_timer.cancel()
        self.pool._forget(self)
        self._fail_pending()
        self.ready.set()
        self._scope.cancel()

    def _fail_pending(self) -> None:
        reason = self.error or "the connection was closed"
        for request in list(self._pending):
            if not request.future.done():
                request.future.set_result(_Failed(reason, broken=True))
        self._pending.clear()

    # --- the owner task ----------------------------------------------------------------
    async def _main(self) -> None:
        reason = "the connection was closed"
        try:
            with self._scope:
                async with contextlib.AsyncExitStack() as stack:
                    client = await self._open(stack)
                    self._connect_timer.cancel()
                    self.connected = True
                    self.ready.set()
                    async with anyio.create_task_group() as group:
                        await self._serve(client, group)
        except (Exception, BaseExceptionGroup) as exc:  # whatever the transport or server did: this connection's end
            prefix = "the connection failed" if self.connected else "cannot connect"
            reason = self._with_stderr(f"{prefix}: {_describe(exc)}")
        finally:
            self._finish(reason)

    async def _open(self, stack: contextlib.AsyncExitStack) -> Client:
        from mcp_types import Implementation

        from agentrt import __version__
        from mcp import Client

        server = self.server
        if server.transport == "stdio":
            from mcp.client.stdio import StdioServerParameters, stdio_client

            if not server.command:
                raise ValueError("the stdio transport needs a command")
            self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in _finish, once the reason is read
            environment = child_environment(server)
            if sys.executable:
                params = StdioServerParameters(
                    command=sys.executable,
                    args=["-I", "-S", "-c", _LAUNCHER, server.command, *server.args],
                    env={_ENV_VARIABLE: json.dumps(environment)},
                )
            else:  # pragma: no cover - an embedded interpreter: the SDK's default environment is added
                params = StdioServerParameters(command=server.command, args=list(server.args), env=environment)
            transport: Any = stdio_client(params, errlog=cast(TextIO, self._stderr))
        else:
            import httpx2
            from mcp.client.streamable_http import streamable_http_client

            if not server.url:
                raise ValueError("the http transport needs a url")
            http = await stack.enter_async_context(
                httpx2.AsyncClient(
                    headers=dict(server.headers),
                    timeout=httpx2.Timeout(_HTTP_CONNECT_TIMEOUT, read=_HTTP_READ_TIMEOUT),
                )
            )
            transport = streamable_http_client(server.url, http_client=http)
        client = Client(transport, cache=None, client_info=Implementation(name="agentrt", version=__version__))
        return await stack.enter_async_context(client)

    async def _serve(self, client: Client, group: TaskGroup) -> None:
        while True:
            with anyio.move_on_after(self.pool.idle_timeout):
                request = await self._inbox.get()
                group.start_soon(self._handle, client, request)
                continue
            if not self._pending:
                self.drop("idle")
                return

    async def _handle(self, client: Client, request: _Request) -> None:
        try:
            if request.future.done():
                return
            if _dispatcher_closed(client):
                reason = self._with_stderr("the connection had closed (the server exited?)")
                request.future.set_result(_Failed(reason, broken=True, sent=False))
                self.drop(reason)
                return
            with anyio.CancelScope() as scope:
                request.scope = scope
                try:
                    value = await request.operation(client)
                except Exception as exc:
                    broken = _breaks_connection(exc)
                    reason = _describe(exc)
                    if broken:
                        reason = self._with_stderr(reason)
                    if not request.future.done():
                        request.future.set_result(_Failed(reason, broken=broken))
                    if broken:
                        self.drop(reason)
                else:
                    if not request.future.done():
                        request.future.set_result(value)
        finally:
            # Cut short with the connection (its task group cancelled): left pending, for
            # _finish to answer with the reason the connection ended.
            if request.future.done():
                self._pending.discard(request)

    def _finish(self, reason: str) -> None:
        self.dead = True
        if self.error is None:
            self.error = reason
        self._connect_timer.cancel()
        self.ready.set()
        self._fail_pending()
        self.pool._forget(self)
        if self._stderr is not None:
            self._stderr.close()

    def _with_stderr(self, reason: str) -> str:
        """The reason, with the last lines the server wrote on stderr (often the real cause)."""
        if self._stderr is None or self._stderr.closed:
            return reason
        try:
            fd = self._stderr.fileno()
            size = os.fstat(fd).st_size
            data = os.pread(fd, 4096, max(0, size - 4096))
        except (OSError, ValueError, AttributeError):  # AttributeError: no os.pread (Windows)
            return reason
        lines = [line.strip() for line in data.decode("utf-8", "replace").splitlines() if line.strip()]
        if not lines:
            return reason
        return f"{reason}; its stderr ends with: {' | '.join(lines[-3:])[-_STDERR_TAIL_CHARS:]}"


class McpPool:
    """Connections to MCP servers, opened lazily and shared by every run of the process."""

    def __init__(
        self,
        *,
        list_timeout: float = DEFAULT_LIST_TIMEOUT,
        call_timeout: float = DEFAULT_CALL_TIMEOUT,
        connect_timeout: float | None = None,
        idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT,
    ) -> None:
        self.list_timeout = list_timeout
        self.call_timeout = call_timeout
        self.connect_timeout = connect_timeout if connect_timeout is not None else list_timeout
        self.idle_timeout = idle_timeout
        self._connections: dict[ConnectionKey, _Connection] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    async def __aenter__(self) -> McpPool:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # --- public ------------------------------------------------------------------------
    async def list_tools(
        self, org_id: str, server: McpServerDefinition, *, time_limit: float | None = None
    ) -> list[Tool]:
        """Every tool the server offers (all pages of ``tools/list``)."""

        async def operation(client: Client) -> list[Tool]:
            tools: list[Tool] = []
            cursor: str | None = None
            for _ in range(_LIST_PAGE_CAP):
                page = await client.list_tools(cursor=cursor)
                tools.extend(page.tools)
                cursor = page.next_cursor
                if cursor is None:
                    break
            return tools

        result: list[Tool] = await self._request(
            org_id,
            server,
            "listing its tools",
            operation,
            self.list_timeout if time_limit is None else time_limit,
            idempotent=True,
        )
        return result

    async def call_tool(
        self,
        org_id: str,
        server: McpServerDefinition,
        name: str,
        args: dict[str, Any] | None,
        *,
        time_limit: float | None = None,
    ) -> CallToolResult:
        """Call one tool. A result with ``isError`` is returned as it is, not raised."""

        async def operation(client: Client) -> CallToolResult:
            return await client.call_tool(name, args)

        result: CallToolResult = await self._request(
            org_id, server, f"calling tool {name!r}", operation, self.call_timeout if time_limit is None else time_limit
        )
        return result

    async def close(self) -> None:
        """Close every connection and wait until each is closed (stdio children ended)."""
        self._closed = True
        for connection in list(self._connections.values()):
            connection.drop("the MCP pool was closed")
        self._connections.clear()
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def connection_count(self) -> int:
        return len(self._connections)

    # --- internals -----------------------------------------------------------------------
    def _error(self, server: McpServerDefinition, reason: str) -> McpError:
        return McpError(server.name, reason, server_id=server.id)

    def _forget(self, connection: _Connection) -> None:
        if self._connections.get(connection.key) is connection:
            del self._connections[connection.key]

    async def _connection(self, org_id: str, server: McpServerDefinition) -> _Connection:
        if self._closed:
            raise self._error(server, "the MCP pool is closed")
        key = (org_id, server.id, definition_hash(server))
        connection = self._connections.get(key)
        if connection is None or connection.dead:
            connection = _Connection(self, key, server, self.connect_timeout)
            self._connections[key] = connection
            self._tasks.add(connection.task)
            connection.task.add_done_callback(self._tasks.discard)
        await connection.ready.wait()  # bounded: the connection drops itself at its connect timeout
        if not connection.connected:
            raise self._error(server, connection.error or "cannot connect")
        return connection

    async def _request(
        self,
        org_id: str,
        server: McpServerDefinition,
        what: str,
        operation: Operation,
        time_limit: float,
        *,
        idempotent: bool = False,
    ) -> Any:
        retried = False
        for _ in range(4):
            connection = await self._connection(org_id, server)
            request = connection.submit(operation)
            if request is None:  # it ended between being handed out and used
                continue
            try:
                async with asyncio.timeout(time_limit):
                    outcome = await request.future
            except TimeoutError:
                connection.drop(f"{what} got no answer within {time_limit:g}s")
                raise self._error(
                    server, f"{what} timed out after {time_limit:g}s; the connection was dropped"
                ) from None
            finally:
                request.abandon()
            if not isinstance(outcome, _Failed):
                return outcome
            if not outcome.sent or (idempotent and outcome.broken and not retried):
                retried = retried or outcome.sent
                continue
            raise self._error(server, f"{what} failed: {outcome.reason}")
        raise self._error(server, f"{what} failed: the connection kept closing")
