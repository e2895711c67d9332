from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from agentrt.context import McpServerDefinition
from agentrt.mcp import McpPool

SERVER_SCRIPT = str(Path(__file__).with_name("mcp_test_server.py"))
HTTP_TOKEN = "test-token-7f3a"


@pytest.fixture
def flag(tmp_path: Path) -> Path:
    """While this file exists, the test server's ``lookup`` tool describes itself differently."""
    return tmp_path / "changed.flag"


@pytest.fixture
def stdio_server(flag: Path) -> McpServerDefinition:
    return McpServerDefinition(
        id="srv_local",
        name="local",
        transport="stdio",
        command=sys.executable,
        args=[SERVER_SCRIPT],
        env={"MCP_TEST_FLAG": str(flag)},
    )


class HttpServer:
    """The test server over streamable HTTP (uvicorn on 127.0.0.1), in its own process."""

    def __init__(self, log: Path, port: int = 0) -> None:
        self.log = log
        with open(log, "ab") as err:
            self.proc = subprocess.Popen(
                [sys.executable, SERVER_SCRIPT, "--http"],
                stdout=subprocess.PIPE,
                stderr=err,
                env={**os.environ, "MCP_TEST_TOKEN": HTTP_TOKEN, "MCP_TEST_PORT": str(port)},
            )
        assert self.proc.stdout is not None
        printed = self.proc.stdout.readline().decode().strip()
        if not printed.isdigit():
            self.stop()
            raise AssertionError(f"the HTTP test server did not start: {log.read_text()}")
        self.port = int(printed)
        self.url = f"http://127.0.0.1:{self.port}/mcp"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        assert self.proc.stdout is not None
        self.proc.stdout.close()


@pytest.fixture(scope="module")
def http_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One HTTP test server per module, on a free port."""
    server = HttpServer(tmp_path_factory.mktemp("http") / "server.log")
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def http_server(http_url: str) -> McpServerDefinition:
    return McpServerDefinition(
        id="srv_remote",
        name="remote",
        transport="http",
        url=http_url,
        headers={"Authorization": f"Bearer {HTTP_TOKEN}"},
    )


@pytest.fixture
async def pool() -> AsyncIterator[McpPool]:
    pool = McpPool(list_timeout=10, call_timeout=10)
    try:
        yield pool
    finally:
        await pool.close()
