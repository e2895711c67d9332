from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.server import Api, Server, throwaway_postgres


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One real server per test module and database backend."""
    data_dir = tmp_path_factory.mktemp(f"agentrt-{request.param}")
    if request.param == "sqlite":
        srv = Server(f"sqlite+aiosqlite:///{data_dir / 'agentrt.sqlite'}", data_dir)
        yield srv.start()
        srv.stop()
    else:
        with throwaway_postgres() as url:
            srv = Server(url, data_dir)
            yield srv.start()
            srv.stop()


@pytest.fixture
def api(server: Server) -> Iterator[Api]:
    client = server.client()
    yield client
    client.http.close()


@pytest.fixture
def fresh_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    """A server of its own, for tests that stop and restart it (SQLite)."""
    srv = Server(f"sqlite+aiosqlite:///{tmp_path / 'agentrt.sqlite'}", tmp_path)
    yield srv.start()
    srv.stop()
