"""A real ``agentrt serve`` process on 127.0.0.1, and a small client for it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
from httpx_sse import connect_sse

PG_ADMIN_DSN = os.environ.get("AGENTRT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
TEST_SKILLS = Path(__file__).parent / "skills"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    """A new PostgreSQL database for one test run, dropped afterwards."""
    name = f"agentrt_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_DSN.rsplit("/", 1)[0]
    try:
        yield f"{base.replace('postgresql://', 'postgresql+psycopg://')}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Server:
    database_url: str
    data_dir: Path
    admin_key: str = field(default_factory=lambda: f"agrt_test_{uuid.uuid4().hex}")
    port: int = field(default_factory=free_port)
    extra_env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[str] | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "AGENTRT_DATA_DIR": str(self.data_dir),
            "AGENTRT_ADMIN_API_KEY": self.admin_key,
            "AGENTRT_SKILLS_DIR": str(TEST_SKILLS),
            "AGENTRT_DEFAULT_MODEL": "scripted",  # deterministic unless a test asks for another
            **self.extra_env,
        }

    def start(self) -> Server:
        self.log_path = self.data_dir / f"server-{self.port}.log"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("a") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "agentrt.cli",
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--log-level",
                    "warning",
                ],
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
                cwd=self.data_dir,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not start: {self.log()}")

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path and self.log_path.exists() else ""

    def stop(self, *, kill: bool = False) -> None:
        if self.process is None:
            return
        if kill:
            self.process.kill()
        else:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def restart(self, *, kill: bool = False) -> Server:
        self.stop(kill=kill)
        return self.start()

    def client(self, key: str | None = None) -> Api:
        return Api(
            httpx.Client(base_url=self.url, timeout=30, headers={"Authorization": f"Bearer {key or self.admin_key}"})
        )

    def create_org(self, name: str) -> dict[str, str]:
        out = subprocess.run(
            [sys.executable, "-m", "agentrt.cli", "org", "create", name],
            env=self.env(),
            capture_output=True,
            text=True,
            check=True,
            cwd=self.data_dir,
        )
        return dict(json.loads(out.stdout))


@dataclass
class Api:
    http: httpx.Client

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.get(path, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.post(path, **kw)

    def patch(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.patch(path, **kw)

    def delete(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.delete(path, **kw)

    def ok(self, method: str, path: str, **kw: Any) -> Any:
        response = self.http.request(method, path, **kw)
        assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.content else None

    def agent(self, script: list[Any], **fields: Any) -> dict[str, Any]:
        body = {"name": "test agent", "model": "scripted", "metadata": {"script": script}, **fields}
        return dict(self.ok("POST", "/v1/agents", json=body))

    def session(self, agent_id: str) -> dict[str, Any]:
        return dict(self.ok("POST", "/v1/sessions", json={"agent_id": agent_id}))

    def chat(
        self,
        session_id: str,
        message: str,
        *,
        parent: str | None = None,
        at_root: bool = False,
        stop_after: int | None = None,
        until: Any = None,
    ) -> list[dict[str, Any]]:
        """POST a message and read its SSE stream (all of it, or ``stop_after`` events)."""
        body: dict[str, Any] = {"message": message}
        if parent is not None or at_root:
            body["parent_message_id"] = parent
        return self._read(
            lambda: connect_sse(self.http, "POST", f"/v1/sessions/{session_id}/messages", json=body), stop_after, until
        )

    def events(
        self,
        run_id: str,
        *,
        last_event_id: int | None = None,
        stop_after: int | None = None,
        as_query: bool = False,
        until: Any = None,
    ) -> list[dict[str, Any]]:
        headers, params = {}, {}
        if last_event_id is not None:
            if as_query:
                params["lastEventId"] = str(last_event_id)
            else:
                headers["Last-Event-ID"] = str(last_event_id)
        return self._read(
            lambda: connect_sse(self.http, "GET", f"/v1/runs/{run_id}/events", headers=headers, params=params),
            stop_after,
            until,
        )

    @staticmethod
    def _read(open_stream: Any, stop_after: int | None, until: Any = None) -> list[dict[str, Any]]:
        """Events of a stream until it ends, ``stop_after`` of them, or ``until(event)`` is true."""
        events: list[dict[str, Any]] = []
        with open_stream() as source:
            assert source.response.status_code == 200, source.response.read()
            assert source.response.headers["content-type"].startswith("text/event-stream")
            for sse in source.iter_sse():
                if not sse.data:
                    continue
                event = json.loads(sse.data)
                assert sse.id == str(event["seq"]) and sse.event == event["type"]
                events.append(event)
                if (stop_after is not None and len(events) >= stop_after) or (until is not None and until(event)):
                    break
        return events

    def wait_run(
        self, run_id: str, statuses: tuple[str, ...] = ("completed", "failed", "cancelled"), timeout: float = 20
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            run = dict(self.ok("GET", f"/v1/runs/{run_id}"))
            if run["status"] in statuses or time.monotonic() > deadline:
                return run
            time.sleep(0.05)
