"""HTTP API benchmark: streamed chats over SSE, agentrt against a bare endpoint in the same run.

    .venv/bin/python bench/api_bench.py [--quick] [--postgres] [--clients N] [--profile-server FILE]

Two servers run as subprocesses on 127.0.0.1, both served by uvicorn with ``agentrt serve``'s
settings (one process, asyncio loop, log level warning):

- **agentrt**: ``python -m agentrt.cli serve`` on a fresh SQLite database in a temporary directory
  (``--postgres``: a throw-away PostgreSQL database, dropped afterwards). One scripted agent
  (``model = "scripted"``, script ``[{"steps": []}, <20-word answer>]``); one chat is one
  ``POST /v1/sessions/{id}/messages`` whose SSE stream ends with ``done``. Every event is
  persisted before it is sent (that is how agentrt streams).
- **bare**: ``bench/bare_sse_app.py``, a FastAPI app whose ``POST /chat`` returns an sse-starlette
  ``EventSourceResponse`` streaming the events recorded from agentrt's first chat (same count,
  same JSON payloads with a new ``run_id``), with no database, authentication or run.

Measured (client: ``httpx.AsyncClient`` + ``httpx_sse.aconnect_sse``, in this process):

1. **time to first event**: sequential chats (100 after 10 warm-up; ``--quick``: 30 after 5),
   agentrt and bare interleaved, from sending the POST to receiving the first SSE event (and the
   whole chat, POST to ``done``). The target is judged on agentrt's median.
2. **throughput**: 50 concurrent clients (``--clients``), each with its own ``AsyncClient`` and
   session, chatting back to back; chats completed per second inside a counted window after a
   warm-up (2 rounds per server of 2 s + 15 s, in the order agentrt, bare, bare, agentrt;
   ``--quick``: 1 round of 1 s + 5 s), with the server's and the client's CPU time per chat.

Sessions are created beforehand (not timed); each client of each round has a fresh one. Every
chat is checked (status 200, N events, the last one ``done``) and failures are counted; at the
end the store is checked: every completed run holds its N events. When a server had errors, its
log is copied to $TMPDIR/api_bench_<server>_<pid>.log and its end printed. ``--profile-server FILE``
(or AGENTRT_BENCH_PROFILE=FILE) runs the agentrt server under cProfile. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import pstats
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx
from httpx_sse import aconnect_sse, connect_sse
from sqlalchemy import create_engine, text

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the test harness's real-server helpers, shared rather than copied
from tests.api.server import free_port, throwaway_postgres  # noqa: E402

BARE_APP = Path(__file__).resolve().parent / "bare_sse_app.py"

# 20 words: the scripted provider streams one token event per word.
ANSWER = (
    "The scripted provider streams this answer word by word, so every chat carries "
    "the same twenty tokens to the client."
)
USER_MESSAGE = "Hello! What can you tell me today?"
CHAT_TIMEOUT = httpx.Timeout(60.0)
TTFE_TARGET_MS = 20.0
THROUGHPUT_TARGET = 0.5


# --- servers ---------------------------------------------------------------------------------
@dataclass
class ServerProcess:
    name: str
    argv: list[str]
    log_path: Path
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    port: int = field(default_factory=free_port)
    # uvicorn re-raises the signal it stopped on; SIGINT's KeyboardInterrupt lets cProfile write its file
    stop_signal: signal.Signals = signal.SIGTERM
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, cwd: Path) -> ServerProcess:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [*self.argv, "--port", str(self.port)], env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=cwd
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} server exited:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} server did not start:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far (all its threads), from /proc."""
        assert self.process is not None
        stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(self.stop_signal)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


# --- one chat ----------------------------------------------------------------------------------
@dataclass(slots=True)
class Chat:
    start: float
    first: float | None
    end: float
    events: int
    last: str | None
    error: str | None

    @property
    def ttfe(self) -> float:
        assert self.first is not None
        return self.first - self.start

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass
class Target:
    name: str
    server: ServerProcess
    sessions: list[str] | None  # agentrt: session ids, one per chat stream; bare: None (POST /chat)
    expected_events: int
    headers: dict[str, str] = field(default_factory=dict)
    http: httpx.AsyncClient | None = None
    chats: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def client(self) -> httpx.AsyncClient:
        assert self.http is not None
        return self.http

    def new_client(self, connections: int) -> httpx.AsyncClient:
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        return httpx.AsyncClient(base_url=self.server.url, limits=limits, timeout=CHAT_TIMEOUT, headers=self.headers)

    def path(self, index: int) -> str:
        return "/chat" if self.sessions is None else f"/v1/sessions/{self.sessions[index]}/messages"

    def check(self, chat: Chat) -> bool:
        self.chats += 1
        problem = chat.error
        if problem is None and (chat.events != self.expected_events or chat.last != "done"):
            problem = f"{chat.events} events (expected {self.expected_events}), last {chat.last!r}"
        if problem is not None:
            self.errors.append(problem)
        return problem is None


async def one_chat(client: httpx.AsyncClient, path: str) -> Chat:
    """POST a message and read its SSE stream to the end (pings carry no data and are skipped)."""
    start = time.perf_counter()
    first: float | None = None
    events = 0
    last: str | None = None
    error: str | None = None
    try:
        async with aconnect_sse(client, "POST", path, json={"message": USER_MESSAGE}) as source:
            if source.response.status_code != 200:
                body = (await source.response.aread()).decode(errors="replace")
                error = f"HTTP {source.response.status_code}: {body[:200]}"
            else:
                async for sse in source.aiter_sse():
                    if not sse.data:
                        continue
                    if first is None:
                        first = time.perf_counter()
                    events += 1
                    last = sse.event
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"
    return Chat(start, first, time.perf_counter(), events, last, error)


# --- statistics and printing -------------------------------------------------------------------
def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def p90(values: Sequence[float]) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=10, method="inclusive")[8]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def ms_or_dash(values: Sequence[float]) -> str:
    """The median in ms, or a dash when there is nothing to take it of."""
    return ms(median(values)) if values else "—"


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]], notes: Sequence[str] = ()) -> None:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    print(f"\n{title}")

    def line(cells: Sequence[str]) -> str:
        pairs = enumerate(zip(cells, widths, strict=True))
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in pairs)

    print(line(header))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line(row))
    for note in notes:
        print(f"  {note}")


# --- 1. time to first event --------------------------------------------------------------------
async def bench_first_event(targets: list[Target], chats: int, warmup: int) -> dict[str, list[Chat]]:
    """Sequential chats, the targets interleaved (which goes first alternates each iteration)."""
    timed: dict[str, list[Chat]] = {t.name: [] for t in targets}
    for i in range(warmup + chats):
        order = targets if i % 2 == 0 else targets[::-1]
        for target in order:
            chat = await one_chat(target.client, target.path(i))
            if target.check(chat) and i >= warmup:
                timed[target.name].append(chat)
    return timed


# --- 2. throughput -----------------------------------------------------------------------------
@dataclass
class Load:
    completed: int
    window: float
    started_in_window: list[Chat]
    server_cpu: float | None
    client_cpu: float | None
    errors: int

    @property
    def rate(self) -> float:
        return self.completed / self.window


async def bench_load(target: Target, clients: int, warmup: float, window: float, first_session: int) -> Load:
    """``clients`` clients chat back to back from t=0, each with its own ``httpx.AsyncClient`` (one
    keep-alive connection; a shared pool of 50 costs the client several times more CPU per request);
    chats that end in [warmup, warmup + window) are counted; clients stop starting chats at the
    window's end and finish the one they are in."""
    results: list[Chat] = []
    errors_before = len(target.errors)
    samples: list[tuple[float, float]] = []
    async with contextlib.AsyncExitStack() as stack:
        https = [await stack.enter_async_context(target.new_client(connections=1)) for _ in range(clients)]
        begin = time.perf_counter()
        t0, t1 = begin + warmup, begin + warmup + window

        async def sampler() -> None:
            for at in (t0, t1):
                await asyncio.sleep(max(0.0, at - time.perf_counter()))
                samples.append((target.server.cpu_seconds(), time.process_time()))

        async def client(index: int) -> None:
            path = target.path(first_session + index)
            while time.perf_counter() < t1:
                chat = await one_chat(https[index], path)
                if target.check(chat):
                    results.append(chat)

        await asyncio.gather(sampler(), *(client(i) for i in range(clients)))
    (a_server, a_client), (b_server, b_client) = samples
    completed = sum(1 for c in results if t0 <= c.end < t1)
    return Load(
        completed=completed,
        window=window,
        started_in_window=[c for c in results if t0 <= c.start < t1],
        server_cpu=(b_server - a_server) / completed if completed else None,
        client_cpu=(b_client - a_client) / completed if completed else None,
        errors=len(target.errors) - errors_before,
    )


# --- setup -------------------------------------------------------------------------------------
def create_sessions(api: httpx.Client, agent_id: str, count: int) -> list[str]:
    sessions = []
    for _ in range(count):
        response = api.post("/v1/sessions", json={"agent_id": agent_id})
        response.raise_for_status()
        sessions.append(str(response.json()["id"]))
    return sessions


def record_first_chat(api: httpx.Client, session_id: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    with connect_sse(api, "POST", f"/v1/sessions/{session_id}/messages", json={"message": USER_MESSAGE}) as source:
        assert source.response.status_code == 200, source.response.read()
        for sse in source.iter_sse():
            if sse.data:
                event = json.loads(sse.data)
                assert sse.event == event["type"] and sse.id == str(event["seq"])
                events.append(event)
    assert events and events[-1]["type"] == "done", events[-1:]
    return events


def payload_bytes(client: httpx.Client, method: str, path: str) -> int:
    """Bytes of one chat's SSE body (pings excluded: none is sent in so short a stream)."""
    with client.stream(method, path, json={"message": USER_MESSAGE}) as response:
        return sum(len(chunk) for chunk in response.iter_bytes())


@dataclass
class Stored:
    runs: int
    completed: int
    events: int
    events_of_completed: int


def count_stored(database_url: str) -> Stored:
    """What the store holds: runs, completed runs, events, and events of completed runs."""
    engine = create_engine(database_url.replace("sqlite+aiosqlite://", "sqlite://"))
    try:
        with engine.connect() as conn:

            def count(sql: str) -> int:
                return int(conn.execute(text(sql)).scalar_one())

            return Stored(
                runs=count("SELECT count(*) FROM runs"),
                completed=count("SELECT count(*) FROM runs WHERE status = 'completed'"),
                events=count("SELECT count(*) FROM run_events"),
                events_of_completed=count(
                    "SELECT count(*) FROM run_events e JOIN runs r ON r.id = e.run_id WHERE r.status = 'completed'"
                ),
            )
    finally:
        engine.dispose()


def git_describe() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                             check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                               capture_output=True, text=True, check=True).stdout.split("\n")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    changed = [line[3:] for line in dirty if line.strip()]
    return rev + (f" + uncommitted changes to {', '.join(changed)}" if changed else "")


# --- main --------------------------------------------------------------------------------------
@dataclass
class Plan:
    clients: int
    ttfe_chats: int
    ttfe_warmup: int
    rounds: int
    warmup: float
    window: float


async def measure(agentrt: Target, bare: Target, plan: Plan) -> tuple[dict[str, list[Chat]], dict[str, list[Load]]]:
    async with contextlib.AsyncExitStack() as stack:
        for target in (agentrt, bare):
            target.http = await stack.enter_async_context(target.new_client(connections=1))
        print(f"1. time to first event: {plan.ttfe_warmup} warm-up + {plan.ttfe_chats} sequential chats each …",
              flush=True)
        first = await bench_first_event([agentrt, bare], plan.ttfe_chats, plan.ttfe_warmup)
        loads: dict[str, list[Load]] = {agentrt.name: [], bare.name: []}
        offset = plan.ttfe_warmup + plan.ttfe_chats
        for r in range(plan.rounds):
            for target in ([agentrt, bare] if r % 2 == 0 else [bare, agentrt]):
                print(f"2. throughput, round {r + 1}/{plan.rounds}: {target.name}, {plan.clients} clients, "
                      f"{plan.warmup:g} s warm-up + {plan.window:g} s window …", flush=True)
                load = await bench_load(target, plan.clients, plan.warmup, plan.window, offset + r * plan.clients)
                loads[target.name].append(load)
    return first, loads


def report(first: dict[str, list[Chat]], loads: dict[str, list[Load]], agentrt: Target, bare: Target,
           plan: Plan) -> None:
    rows = []
    for target in (agentrt, bare):
        chats = first[target.name]
        ttfe = [c.ttfe for c in chats]
        whole = [c.duration for c in chats]
        rows.append([target.name, ms(median(ttfe)), ms(p90(ttfe)), ms(median(whole)), ms(p90(whole))])
    ttfe_median = median([c.ttfe for c in first[agentrt.name]]) * 1000
    ttfe_ok = ttfe_median <= TTFE_TARGET_MS
    table(
        f"1. Time to first SSE event, sequential chats — {plan.ttfe_chats} per server after {plan.ttfe_warmup} "
        f"warm-up, interleaved",
        ["", "first event median", "p90", "whole chat (POST → done) median", "p90"],
        rows,
        [f"target: agentrt first event ≤{TTFE_TARGET_MS:g} ms at the median: "
         f"{'MET' if ttfe_ok else 'MISSED'} ({ttfe_median:.2f} ms)"],
    )

    rows = []
    rates: dict[str, float] = {}
    for target in (agentrt, bare):
        runs = loads[target.name]
        rates[target.name] = sum(load.completed for load in runs) / sum(load.window for load in runs)
        started = [c for load in runs for c in load.started_in_window]
        rows.append([
            target.name,
            f"{rates[target.name]:.1f}",
            ", ".join(f"{load.rate:.1f}" for load in runs),
            ms_or_dash([c.ttfe for c in started]),
            ms_or_dash([c.duration for c in started]),
            ms_or_dash([load.server_cpu for load in runs if load.server_cpu is not None]),
            ms_or_dash([load.client_cpu for load in runs if load.client_cpu is not None]),
            str(sum(load.errors for load in runs)),
        ])
    ratio = rates[agentrt.name] / rates[bare.name]
    throughput_ok = ratio >= THROUGHPUT_TARGET
    table(
        f"2. Throughput, {plan.clients} concurrent clients chatting back to back — {plan.rounds} round(s) per server "
        f"of {plan.warmup:g} s warm-up + {plan.window:g} s counted, alternating",
        ["", "chats/s", "per round", "first event median", "chat median", "server CPU/chat", "client CPU/chat",
         "errors"],
        rows,
        [
            f"agentrt ÷ bare chats/s: {ratio:.2f}x — target ≥{THROUGHPUT_TARGET:g}x: "
            f"{'MET' if throughput_ok else 'MISSED'}",
            "chats/s: chats that ended (all events, last `done`) inside the counted windows ÷ their length;",
            "first event and chat medians: chats started inside the windows; errors: all chats of the rounds;",
            "CPU/chat: the server process's (all threads) or this client process's user+system CPU during the",
            "windows ÷ chats counted; both processes share the machine's cores",
        ],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="agentrt's SSE chat API vs a bare FastAPI + sse-starlette endpoint")
    parser.add_argument("--quick", action="store_true", help="fewer chats, one 5 s round per server")
    parser.add_argument("--postgres", action="store_true", help="a throw-away PostgreSQL database instead of SQLite")
    parser.add_argument("--clients", type=int, default=50)
    profile = os.environ.get("AGENTRT_BENCH_PROFILE")
    parser.add_argument("--profile-server", type=Path, metavar="FILE", default=Path(profile) if profile else None,
                        help="run the agentrt server under cProfile (default: $AGENTRT_BENCH_PROFILE), write the "
                             "stats to FILE and print the top functions by own time (the profiler slows the "
                             "server: its figures are then not the benchmark's)")
    args = parser.parse_args()
    if args.quick:
        plan = Plan(clients=args.clients, ttfe_chats=30, ttfe_warmup=5, rounds=1, warmup=1.0, window=5.0)
    else:
        plan = Plan(clients=args.clients, ttfe_chats=100, ttfe_warmup=10, rounds=2, warmup=2.0, window=15.0)

    started = time.perf_counter()
    versions = ", ".join(f"{p} {version(p)}" for p in ("fastapi", "starlette", "sse-starlette", "uvicorn", "httpx",
                                                          "sqlalchemy"))
    print(f"agentrt API benchmark — {date.today().isoformat()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, {versions}; tree {git_describe()}")
    with tempfile.TemporaryDirectory(prefix="agentrt-api-bench-") as tmp, contextlib.ExitStack() as stack:
        data_dir = Path(tmp)
        if args.postgres:
            database_url = stack.enter_context(throwaway_postgres())
            backend = "PostgreSQL (throw-away database)"
        else:
            database_url = f"sqlite+aiosqlite:///{data_dir / 'agentrt.sqlite'}"
            backend = "SQLite (WAL) in a temporary directory"
        admin_key = f"agrt_bench_{uuid.uuid4().hex}"
        serve = [sys.executable]
        if args.profile_server:
            serve += ["-m", "cProfile", "-o", str(args.profile_server.resolve())]
        serve += ["-m", "agentrt.cli", "serve", "--host", "127.0.0.1", "--log-level", "warning"]
        agentrt_server = ServerProcess(
            "agentrt", serve, data_dir / "agentrt.log",
            env={**os.environ, "DATABASE_URL": database_url, "AGENTRT_DATA_DIR": str(data_dir),
                 "AGENTRT_ADMIN_API_KEY": admin_key, "PYTHONUNBUFFERED": "1"},
            stop_signal=signal.SIGINT if args.profile_server else signal.SIGTERM,
        )
        stack.callback(agentrt_server.stop)
        agentrt_server.start(cwd=data_dir)
        print(f"agentrt server: {backend}, pid {agentrt_server.process.pid if agentrt_server.process else '?'}"
              + (" — UNDER cProfile" if args.profile_server else ""))

        api = stack.enter_context(httpx.Client(base_url=agentrt_server.url, timeout=30,
                                               headers={"Authorization": f"Bearer {admin_key}"}))
        agent = api.post("/v1/agents", json={"name": "bench agent", "model": "scripted",
                                             "metadata": {"script": [{"steps": []}, ANSWER]}})
        agent.raise_for_status()
        agent_id = str(agent.json()["id"])
        recorded = record_first_chat(api, create_sessions(api, agent_id, 1)[0])
        n_events = len(recorded)
        kinds: dict[str, int] = {}
        for event in recorded:
            kinds[event["type"]] = kinds.get(event["type"], 0) + 1
        print(f"one chat = {n_events} events: " + ", ".join(f"{k} ×{v}" if v > 1 else k for k, v in kinds.items()))
        sessions_needed = plan.ttfe_warmup + plan.ttfe_chats + plan.rounds * plan.clients + 1  # +1: byte count
        setup = time.perf_counter()
        sessions = create_sessions(api, agent_id, sessions_needed)
        print(f"created {len(sessions)} sessions in {time.perf_counter() - setup:.1f} s (not timed)")

        events_file = data_dir / "events.json"
        events_file.write_text(json.dumps(recorded))
        bare_server = ServerProcess("bare", [sys.executable, str(BARE_APP), "--events", str(events_file)],
                                    data_dir / "bare.log")
        stack.callback(bare_server.stop)
        bare_server.start(cwd=data_dir)
        with httpx.Client(base_url=bare_server.url, timeout=30) as bare_api:
            bare_bytes = payload_bytes(bare_api, "POST", "/chat")
        agentrt_bytes = payload_bytes(api, "POST", f"/v1/sessions/{sessions[-1]}/messages")
        print(f"SSE body of one chat: agentrt {agentrt_bytes} bytes, bare {bare_bytes} bytes")
        sessions.pop()  # used just above

        agentrt = Target("agentrt", agentrt_server, sessions, n_events, {"Authorization": f"Bearer {admin_key}"})
        bare = Target("bare FastAPI + sse-starlette", bare_server, None, n_events)
        first, loads = asyncio.run(measure(agentrt, bare, plan))

        stored = count_stored(database_url)
        report(first, loads, agentrt, bare, plan)
        ok_chats = agentrt.chats - len(agentrt.errors) + 2  # + the recorded chat and the byte count
        print(f"\nchecks: agentrt {agentrt.chats} chats in the timed phases, {len(agentrt.errors)} errors; "
              f"bare {bare.chats} chats, {len(bare.errors)} errors")
        # A run goes on without its stream, so a completed run's stream may still have failed (an error above).
        store_ok = stored.completed >= ok_chats and stored.events_of_completed == n_events * stored.completed
        print(f"store: {stored.runs} runs ({stored.completed} completed), {stored.events} events, "
              f"{stored.events_of_completed} of them of completed runs; {ok_chats} chats streamed all {n_events} "
              f"events — {'every completed run holds its events' if store_ok else 'MISMATCH'}")
        for target in (agentrt, bare):
            for problem in sorted(set(target.errors))[:5]:
                print(f"  {target.name} error: {problem}")
            if target.errors:
                kept = Path(tempfile.gettempdir()) / f"api_bench_{target.server.name}_{os.getpid()}.log"
                kept.write_text(target.server.log())
                tail = "\n    ".join(target.server.log().splitlines()[-15:])
                print(f"  {target.server.name} server log kept at {kept}; its end:\n    {tail}")
        print(f"total time: {time.perf_counter() - started:.0f} s")

    if args.profile_server:
        print(f"\ncProfile of the agentrt server's main thread (whole run, startup included; cumulative times "
              f"of coroutines are not meaningful, and aiosqlite's threads are not profiled): {args.profile_server}")
        pstats.Stats(str(args.profile_server)).sort_stats("tottime").print_stats(40)


if __name__ == "__main__":
    main()
