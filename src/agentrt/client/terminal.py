"""``agentrt chat``: a terminal client for the agentrt HTTP API.

Three layers, each usable without a TTY:

* :class:`EventRenderer` prints run events as they arrive (the plan, each step's status,
  approvals, the answer's tokens inline, errors) on a Rich console;
* :class:`ChatClient` talks to the server: :meth:`ChatClient.send` posts a message and
  follows its stream, :meth:`ChatClient.follow` follows a run after a given ``seq``, and
  :meth:`ChatClient.decide` answers an approval;
* :class:`TerminalChat` is the read-a-line loop (agent picking, sessions, ``/new``, ``/quit``).

Streams are followed by ``seq``: every event seen is remembered, so an event is never
printed twice. When a run asks for approval the client stops reading, asks the human,
posts the decision and re-attaches with ``GET /v1/runs/{id}/events`` and ``Last-Event-ID``;
a dropped connection is re-attached the same way, with backoff. A message is never
posted twice.
"""

from __future__ import annotations

import contextlib
import functools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal

import httpx
from httpx_sse import EventSource, SSEError, connect_sse
from rich.console import Console
from rich.text import Text

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_UNAVAILABLE = 2
"""A bad API key or an unreachable server."""

Event = dict[str, Any]
InputFn = Callable[[str], str]

ACTIVE_RUN_STATUSES = frozenset({"running", "awaiting_approval"})
OUTPUT_LIMIT = 300


# --- errors ------------------------------------------------------------------------------
class ApiError(Exception):
    """An error answer from the server: ``{code, message, details?}``."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    @classmethod
    def from_response(cls, response: httpx.Response) -> ApiError:
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("code"), str):
            return cls(response.status_code, body["code"], str(body.get("message", "")), body.get("details"))
        text = response.text.strip()[:200] or response.reason_phrase
        return cls(response.status_code, f"HTTP_{response.status_code}", text)

    @property
    def retryable(self) -> bool:
        return self.status in (502, 503, 504)


class Unreachable(Exception):
    """The server could not be reached (connection refused, DNS, timeout...)."""


# --- rendering -----------------------------------------------------------------------------
def _short(value: Any, limit: int = OUTPUT_LIMIT) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _call(capability: Any, args: Any) -> str:
    if isinstance(args, dict):
        inner = ", ".join(f"{key}={_short(value, 80)}" for key, value in args.items())
    else:
        inner = _short(args, 120)
    return f"{capability}({inner})"


class EventRenderer:
    """Prints a run's events on ``console`` as they arrive.

    Tokens are printed inline; any other line first ends the answer's line. A ``message``
    event prints its content only when no token of it was shown (an answer that was not
    streamed, e.g. the explanation of a failed run).
    """

    def __init__(self, console: Console) -> None:
        self.console = console
        self._inline = False
        self._streamed = False

    # --- output helpers ------------------------------------------------------------------
    def end_line(self) -> None:
        if self._inline:
            self.console.print()
            self._inline = False

    def line(self, text: str | Text, style: str = "") -> None:
        self.end_line()
        self.console.print(text if isinstance(text, Text) else Text(text, style=style), soft_wrap=True)

    def notice(self, text: str) -> None:
        self.line(text, "dim")

    def error(self, code: str, message: str) -> None:
        self.line(Text.assemble(("error ", "bold red"), (f"{code}", "red"), f": {message}"))

    def api_error(self, exc: ApiError) -> None:
        self.error(exc.code, exc.message)

    def begin_run(self) -> None:
        self.end_line()
        self._streamed = False

    # --- events ---------------------------------------------------------------------------
    def render(self, event: Event) -> None:
        kind = str(event.get("type"))
        data = event.get("data") or {}
        handler = getattr(self, f"_on_{kind}", None)
        if handler is None:
            self.notice(f"· {kind}: {_short(data)}")
        else:
            handler(data)

    def _on_thinking(self, data: dict[str, Any]) -> None:
        self.notice(f"· {data.get('content') or 'thinking…'}")

    def _on_run_started(self, data: dict[str, Any]) -> None:
        line = f"· run started (model {data.get('model', '?')})"
        unavailable = data.get("unavailable") or {}
        if unavailable:
            line += "; unavailable: " + ", ".join(f"{name} ({why})" for name, why in unavailable.items())
        self.notice(line)

    def _on_plan(self, data: dict[str, Any]) -> None:
        steps = data.get("steps") or []
        attempt = data.get("attempt")
        title = "plan" + (f" (attempt {attempt})" if attempt and attempt != 1 else "") + ":"
        if not steps:
            title += " no steps"
        self.line(title, "bold cyan")
        for index, step in enumerate(steps if isinstance(steps, list) else [], 1):
            if not isinstance(step, dict):
                self.line(f"  {index}. {_short(step)}")
                continue
            text = Text(f"  {index}. ")
            text.append(str(step.get("id", "?")), style="bold")
            text.append(" " + _call(step.get("capability", "?"), step.get("args", {})))
            depends = step.get("depends_on") or []
            if depends:
                text.append(f"  after {', '.join(map(str, depends))}", style="dim")
            self.line(text)
        if data.get("valid") is False:
            errors = data.get("errors") or []
            self.line("  plan refused: " + ("; ".join(map(str, errors)) or "invalid"), "red")

    def _on_step_started(self, data: dict[str, Any]) -> None:
        self.line(
            Text.assemble(
                ("  ▸ ", "yellow"),
                (str(data.get("step_id")), "bold"),
                " " + _call(data.get("capability"), data.get("args", {})) + " …",
            )
        )

    def _on_step_finished(self, data: dict[str, Any]) -> None:
        duration = data.get("duration_ms")
        took = f" ({duration:.0f} ms)" if isinstance(duration, int | float) else ""
        self.line(
            Text.assemble(
                ("  ✓ ", "green"),
                (str(data.get("step_id")), "bold"),
                f" {data.get('capability')} → {_short(data.get('output'))}",
                (took, "dim"),
            )
        )

    def _on_step_failed(self, data: dict[str, Any]) -> None:
        reason = data.get("reason")
        self.line(
            Text.assemble(
                ("  ✗ ", "red"),
                (str(data.get("step_id")), "bold"),
                f" {data.get('capability')} failed: {data.get('error')}",
                (f" [{reason}]" if reason else "", "dim"),
            )
        )

    def _on_replan(self, data: dict[str, Any]) -> None:
        why = data.get("reason", "")
        details = data.get("errors") or [
            f"{f.get('step_id')} {f.get('status')}: {f.get('error')}"
            for f in data.get("failures") or []
            if isinstance(f, dict)
        ]
        text = f"↻ re-planning ({why}, attempt {data.get('attempt', '?')})"
        if details:
            text += ": " + "; ".join(map(str, details))
        self.line(text, "yellow")

    def _on_approval_required(self, data: dict[str, Any]) -> None:
        self.line(
            Text.assemble(
                ("⚠ approval needed: ", "bold yellow"),
                "step ",
                (str(data.get("step_id")), "bold"),
                " wants to run " + _call(data.get("capability"), data.get("args", {})),
            )
        )
        if data.get("reason"):
            self.line(f"  why: {data['reason']}", "yellow")

    def _on_approval_resolved(self, data: dict[str, Any]) -> None:
        decision = str(data.get("decision"))
        style = {"approve": "green", "reject": "red"}.get(decision, "yellow")
        label = {"approve": "approved", "reject": "rejected"}.get(decision, decision)
        comment = data.get("comment")
        self.line(f"  {label}: step {data.get('step_id')}" + (f" ({comment})" if comment else ""), style)

    def _on_delegation(self, data: dict[str, Any]) -> None:
        self.notice(f"· delegation: {_short(data)}")

    def _on_token(self, data: dict[str, Any]) -> None:
        text = str(data.get("text", ""))
        if not text:
            return
        if not self._inline:
            self.console.print(Text("agent: ", style="bold magenta"), end="", soft_wrap=True)
        self.console.print(Text(text), end="", soft_wrap=True)
        self._inline = True
        self._streamed = True

    def _on_message(self, data: dict[str, Any]) -> None:
        if not self._streamed and data.get("content"):
            self.line(Text.assemble(("agent: ", "bold magenta"), str(data["content"])))
        self.end_line()

    def _on_done(self, data: dict[str, Any]) -> None:
        self.end_line()

    def _on_error(self, data: dict[str, Any]) -> None:
        cause = data.get("cause") if isinstance(data.get("cause"), dict) else None
        code = str(data.get("code", "ERROR"))
        if cause and cause.get("code") and cause.get("code") != code:
            code = f"{code} ({cause['code']})"
        self.error(code, str(data.get("message", "")))


# --- the client ---------------------------------------------------------------------------
@dataclass
class Verdict:
    approve: bool
    comment: str | None = None


Approver = Callable[[Event], Verdict | None]
"""Asked on ``approval_required`` (the event); ``None`` leaves the approval pending."""

TurnStatus = Literal["running", "done", "error", "detached", "lost"]


@dataclass
class Turn:
    """What the client knows of one run it follows."""

    run_id: str | None = None
    last_seq: int = 0
    status: TurnStatus = "running"
    answer: str | None = None
    message_id: str | None = None
    error: dict[str, Any] | None = None
    events: int = 0
    """How many events were rendered (each once)."""


class _Outcome(Enum):
    ENDED = "ended"
    APPROVAL = "approval"
    DROPPED = "dropped"
    FATAL = "fatal"


Opener = Callable[[], contextlib.AbstractContextManager[EventSource]]


def _never_approve(event: Event) -> Verdict | None:
    return None


class ChatClient:
    """The agentrt HTTP API, with runs followed through approvals and dropped connections."""

    def __init__(
        self,
        url: str,
        api_key: str,
        *,
        renderer: EventRenderer | None = None,
        approver: Approver = _never_approve,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        stream_read_timeout: float = 60.0,
        backoff: tuple[float, float] = (0.5, 8.0),
        max_reconnects: int = 8,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = url.rstrip("/")
        self.renderer = renderer or EventRenderer(Console())
        self.approver = approver
        self.http = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json"},
            timeout=timeout,
            transport=transport,
        )
        self.stream_timeout = httpx.Timeout(timeout, read=stream_read_timeout)
        self.backoff = backoff
        self.max_reconnects = max_reconnects
        self.sleep = sleep
        self.current: Turn | None = None
        """The turn being followed (for a caller that must cancel it on Ctrl-C)."""
        self._ended_runs: set[str] = set()

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> ChatClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- plain requests ---------------------------------------------------------------------
    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise Unreachable(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__) from exc
        if response.status_code >= 400:
            raise ApiError.from_response(response)
        return response.json() if response.content else None

    def me(self) -> dict[str, Any]:
        return dict(self.request("GET", "/v1/me"))

    def agents(self) -> list[dict[str, Any]]:
        return list(self.request("GET", "/v1/agents"))

    def sessions(self, agent_id: str | None = None) -> list[dict[str, Any]]:
        params = {"agent_id": agent_id} if agent_id else {}
        return list(self.request("GET", "/v1/sessions", params=params))

    def session(self, session_id: str) -> dict[str, Any]:
        return dict(self.request("GET", f"/v1/sessions/{session_id}"))

    def create_session(self, agent_id: str, title: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"agent_id": agent_id}
        if title is not None:
            body["title"] = title
        return dict(self.request("POST", "/v1/sessions", json=body))

    def messages(self, session_id: str) -> dict[str, Any]:
        """``{messages, branch}``: every message, and the ids of the newest branch root to leaf."""
        return dict(self.request("GET", f"/v1/sessions/{session_id}/messages"))

    def approval(self, approval_id: str) -> dict[str, Any]:
        return dict(self.request("GET", f"/v1/approvals/{approval_id}"))

    def decide(self, approval_id: str, approve: bool, comment: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"decision": "approve" if approve else "reject"}
        if comment:
            body["comment"] = comment
        return dict(self.request("POST", f"/v1/approvals/{approval_id}", json=body))

    def cancel(self, run_id: str) -> dict[str, Any]:
        return dict(self.request("POST", f"/v1/runs/{run_id}/cancel"))

    def run(self, run_id: str) -> dict[str, Any]:
        return dict(self.request("GET", f"/v1/runs/{run_id}"))

    def stop(self, run_id: str, *, tries: int = 5, interval: float = 0.2) -> str:
        """Cancel the run until the server says it ended; its status (still active after ``tries``).

        A cancel can land while the run is pausing for approval or finishing and be lost
        (the run goes on, no ``error`` event): asking again, once it settled, ends it.
        """
        status = "running"
        for attempt in range(tries):
            if attempt:
                self.sleep(interval)
                status = str(self.run(run_id)["status"])
                if status not in ACTIVE_RUN_STATUSES:
                    return status
            try:
                status = str(self.cancel(run_id)["status"])
            except ApiError as exc:
                if exc.code != "RUN_NOT_ACTIVE":
                    raise
                return str(self.run(run_id)["status"])
            if status not in ACTIVE_RUN_STATUSES:
                return status
        return status

    # --- following runs ----------------------------------------------------------------------
    def send(self, session_id: str, message: str, *, parent_message_id: str | None = None) -> Turn:
        """Post ``message`` and follow its run to the end (through approvals and reconnects).

        An error answer to the post itself (401, 409 ``SESSION_BUSY``, 413...) raises
        :class:`ApiError`; a server that cannot be reached raises :class:`Unreachable`.
        """
        body: dict[str, Any] = {"message": message}
        if parent_message_id is not None:
            body["parent_message_id"] = parent_message_id
        turn = Turn()

        def post() -> contextlib.AbstractContextManager[EventSource]:
            return connect_sse(
                self.http, "POST", f"/v1/sessions/{session_id}/messages", json=body, timeout=self.stream_timeout
            )

        def locate() -> str | None:
            return self._locate_run(session_id, message)

        return self._drive(turn, post, locate)

    def follow(self, run_id: str, after_seq: int = 0) -> Turn:
        """Follow a run's events after ``after_seq`` until it ends (or waits on an undecided approval)."""
        return self._drive(Turn(run_id=run_id, last_seq=after_seq))

    def _reattach(self, turn: Turn) -> contextlib.AbstractContextManager[EventSource]:
        assert turn.run_id is not None
        return connect_sse(
            self.http,
            "GET",
            f"/v1/runs/{turn.run_id}/events",
            headers={"Last-Event-ID": str(turn.last_seq)},
            timeout=self.stream_timeout,
        )

    def _drive(self, turn: Turn, post: Opener | None = None, locate: Callable[[], str | None] | None = None) -> Turn:
        """Read the run's stream until it ends: ask about approvals, re-attach after a drop."""
        self.current = turn
        self.renderer.begin_run()
        failures = 0
        try:
            while True:
                seen = turn.events
                outcome, event = self._attempt(turn, post, locate)
                post = None  # a message is posted once; afterwards the run is followed by its id
                if turn.events > seen:
                    failures = 0
                if outcome is _Outcome.ENDED:
                    return turn
                if outcome is _Outcome.FATAL:
                    turn.status = "lost"
                    return turn
                if outcome is _Outcome.APPROVAL:
                    assert event is not None
                    if not self._handle_approval(turn, event):
                        return turn
                    continue
                failures += 1
                if failures > self.max_reconnects:
                    where = f" (run {turn.run_id} goes on on the server)" if turn.run_id else ""
                    self.renderer.error("CONNECTION_LOST", f"gave up re-connecting to the run's stream{where}")
                    turn.status = "lost"
                    return turn
                delay = self._delay(failures)
                self.renderer.notice(f"· connection lost; re-connecting in {delay:g}s…")
                self.sleep(delay)
        finally:
            self.renderer.end_line()
            if turn.run_id and turn.status in ("done", "error"):
                self._ended_runs.add(turn.run_id)

    def _delay(self, failures: int) -> float:
        return float(min(self.backoff[1], self.backoff[0] * 2 ** (failures - 1)))

    def _attempt(
        self, turn: Turn, post: Opener | None, locate: Callable[[], str | None] | None
    ) -> tuple[_Outcome, Event | None]:
        """One connection: the post, else a re-attach by run id after ``turn.last_seq``."""
        if post is None and turn.run_id is None:
            # The post's stream dropped before its first event: find the run it started.
            try:
                turn.run_id = locate() if locate is not None else None
            except Unreachable:
                return _Outcome.DROPPED, None
            except ApiError as exc:
                if exc.retryable:
                    return _Outcome.DROPPED, None
                self.renderer.api_error(exc)
                return _Outcome.FATAL, None
            if turn.run_id is None:
                self.renderer.error(
                    "MESSAGE_LOST",
                    "the connection dropped before the server answered, and the "
                    "session has no run for this message: it was not sent",
                )
                return _Outcome.FATAL, None
        try:
            with (post or (lambda: self._reattach(turn)))() as source:
                return self._consume(source, turn)
        except ApiError as exc:
            if exc.retryable:
                return _Outcome.DROPPED, None
            if post is not None:
                raise  # the post was refused (401, 409 SESSION_BUSY, 413...): the caller says so
            self.renderer.api_error(exc)
            return _Outcome.FATAL, None
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            if post is not None:  # nothing was sent
                raise Unreachable(str(exc) or type(exc).__name__) from exc
            return _Outcome.DROPPED, None
        except (httpx.TransportError, SSEError):
            return _Outcome.DROPPED, None

    def _locate_run(self, session_id: str, message: str) -> str | None:
        """The run of a message whose stream dropped before its first event: the session's
        active run, else the run of its newest user message if that is this message."""
        session = self.session(session_id)
        if session.get("active_run_id"):
            return str(session["active_run_id"])
        tree = self.messages(session_id)
        for item in reversed(tree.get("messages", [])):
            if item.get("role") == "user":
                run_id = item.get("run_id")
                if item.get("content") == message and run_id and run_id not in self._ended_runs:
                    return str(run_id)
                break
        return None

    def _consume(self, source: EventSource, turn: Turn) -> tuple[_Outcome, Event | None]:
        response = source.response
        if response.status_code != 200:
            response.read()
            raise ApiError.from_response(response)
        for sse in source.iter_sse():
            if not sse.data:
                continue
            try:
                event = json.loads(sse.data)
            except ValueError:
                continue
            if not isinstance(event, dict):
                continue
            seq = event.get("seq")
            if not isinstance(seq, int):
                seq = int(sse.id) if sse.id.isdigit() else None
            if seq is None or seq <= turn.last_seq:
                continue  # seen already (or unnumbered): never printed twice
            turn.last_seq = seq
            turn.run_id = turn.run_id or event.get("run_id")
            turn.events += 1
            self.renderer.render(event)
            kind = event.get("type")
            data = event.get("data") or {}
            if kind == "message":
                turn.answer = data.get("content")
            elif kind == "done":
                turn.status = "done"
                turn.message_id = data.get("messageId")
                return _Outcome.ENDED, event
            elif kind == "error":
                turn.status = "error"
                turn.error = data
                return _Outcome.ENDED, event
            elif kind == "approval_required":
                return _Outcome.APPROVAL, event
        return _Outcome.DROPPED, None

    def _handle_approval(self, turn: Turn, event: Event) -> bool:
        """Ask about the approval just seen and post the decision; ``False`` stops following."""
        data = event.get("data") or {}
        approval_id = str(data.get("approval_id"))
        with contextlib.suppress(Unreachable, ApiError):
            status = self.approval(approval_id).get("status")
            if status != "pending":  # decided meanwhile (elsewhere, or earlier in a replayed log)
                return True
        verdict = self.approver(event)
        if verdict is None:
            self.renderer.notice(f"· approval {approval_id} left pending; the run waits for a decision")
            turn.status = "detached"
            return False
        for attempt in range(self.max_reconnects + 1):
            try:
                self.decide(approval_id, verdict.approve, verdict.comment)
                return True
            except ApiError as exc:
                self.renderer.api_error(exc)
                return True  # e.g. already decided: the run's stream tells what happened
            except Unreachable as exc:
                if attempt == self.max_reconnects:
                    self.renderer.error("CONNECTION_LOST", f"could not send the decision: {exc}")
                    turn.status = "lost"
                    return False
                delay = self._delay(attempt + 1)
                self.renderer.notice(f"· could not send the decision; retrying in {delay:g}s…")
                self.sleep(delay)
        return False


# --- the terminal loop ----------------------------------------------------------------------
HELP = "commands: /new (a new session), /quit (leave); anything else is sent to the agent"


def parse_verdict(answer: str) -> Verdict:
    """``y [comment]`` approves; anything else (``n [comment]``, empty) rejects."""
    word, _, rest = answer.strip().partition(" ")
    comment = rest.strip() or None
    if word.lower() in ("y", "yes"):
        return Verdict(True, comment)
    if word.lower() in ("n", "no", ""):
        return Verdict(False, comment)
    return Verdict(False, answer.strip())


class TerminalChat:
    def __init__(self, client: ChatClient, console: Console, input_fn: InputFn) -> None:
        self.client = client
        self.console = console
        self.input = input_fn
        self.renderer = client.renderer
        self.session: dict[str, Any] | None = None
        self.agent: dict[str, Any] | None = None
        client.approver = self.ask_approval

    # --- prompts ------------------------------------------------------------------------
    def ask_approval(self, event: Event) -> Verdict | None:
        try:
            answer = self.input("approve? [y/N] (comment) ")
        except EOFError:
            return None
        return parse_verdict(answer)

    def pick_agent(self, wanted: str | None) -> dict[str, Any] | None:
        agents = self.client.agents()
        if wanted:
            for agent in agents:
                if wanted in (agent.get("id"), agent.get("name")):
                    return agent
            self.renderer.error("NOT_FOUND", f"no agent {wanted!r} in this organisation")
            return None
        if not agents:
            self.renderer.error("NO_AGENTS", "this organisation has no agent yet; create one with POST /v1/agents")
            return None
        if len(agents) == 1:
            return agents[0]
        self.console.print(Text("agents:", style="bold"))
        for number, agent in enumerate(agents, 1):
            line = Text(f"  {number}. ")
            line.append(str(agent.get("name")), style="bold")
            if agent.get("description"):
                line.append(f" — {agent['description']}", style="dim")
            self.console.print(line, soft_wrap=True)
        while True:
            answer = self.input(f"agent [1-{len(agents)}] (1) ").strip() or "1"
            if answer.isdigit() and 1 <= int(answer) <= len(agents):
                return agents[int(answer) - 1]
            for agent in agents:
                if answer in (agent.get("id"), agent.get("name")):
                    return agent
            self.console.print(Text(f"pick a number from 1 to {len(agents)}", style="red"))

    def new_session(self) -> None:
        assert self.agent is not None
        self.session = self.client.create_session(str(self.agent["id"]))
        self.renderer.notice(f"· new session {self.session['id']} with {self.agent.get('name')}")

    def resume_session(self, session_id: str) -> None:
        self.session = self.client.session(session_id)
        tree = self.client.messages(session_id)
        by_id = {m["id"]: m for m in tree.get("messages", [])}
        title = self.session.get("title")
        self.renderer.notice(f"· session {session_id}" + (f" — {title}" if title else ""))
        for message_id in tree.get("branch", []):
            message = by_id.get(message_id)
            if message is None:
                continue
            who = ("you: ", "bold blue") if message.get("role") == "user" else ("agent: ", "bold magenta")
            self.console.print(Text.assemble(who, str(message.get("content", ""))), soft_wrap=True)
        active = self.session.get("active_run_id")
        if active:
            self.renderer.notice(f"· run {active} is still going; following it")
            self._follow(functools.partial(self.client.follow, str(active)))

    # --- the loop -------------------------------------------------------------------------
    def run(self, agent_id: str | None, session_id: str | None) -> int:
        try:
            me = self.client.me()
        except ApiError as exc:
            if exc.status == 401:
                self.renderer.error(exc.code, f"the server refused the API key ({exc.message})")
            else:
                self.renderer.error(exc.code, f"{self.client.url} did not answer as an agentrt server: {exc.message}")
            return EXIT_UNAVAILABLE
        except Unreachable as exc:
            self.renderer.error("UNREACHABLE", f"cannot reach the agentrt server at {self.client.url} ({exc})")
            return EXIT_UNAVAILABLE
        self.renderer.notice(f"· connected to {self.client.url} as {me.get('email')} ({me.get('role')})")
        try:
            if session_id:
                self.resume_session(session_id)
                assert self.session is not None
                agents = {a["id"]: a for a in self.client.agents()}
                self.agent = agents.get(self.session["agent_id"], {"id": self.session["agent_id"]})
                if agent_id and agent_id not in (self.agent.get("id"), self.agent.get("name")):
                    self.renderer.notice(f"· --agent ignored: the session belongs to {self.agent.get('name')}")
            else:
                self.agent = self.pick_agent(agent_id)
                if self.agent is None:
                    return EXIT_FAILED
                self.new_session()
        except ApiError as exc:
            self.renderer.api_error(exc)
            return EXIT_FAILED
        except Unreachable as exc:
            self.renderer.error("UNREACHABLE", f"lost the server at {self.client.url} ({exc})")
            return EXIT_UNAVAILABLE
        except (EOFError, KeyboardInterrupt):
            self.console.print()
            return EXIT_OK
        self.console.print(Text(HELP, style="dim"), soft_wrap=True)
        return self.loop()

    def loop(self) -> int:
        while True:
            try:
                line = self.input("you> ")
            except (EOFError, KeyboardInterrupt):
                self.console.print()
                return EXIT_OK
            text = line.strip()
            if not text:
                continue
            if text in ("/quit", "/exit", "/q"):
                return EXIT_OK
            if text == "/help":
                self.console.print(Text(HELP, style="dim"), soft_wrap=True)
                continue
            try:
                if text == "/new":
                    self.new_session()
                    continue
                assert self.session is not None
                session_id = str(self.session["id"])
                self._follow(functools.partial(self.client.send, session_id, text))
            except ApiError as exc:
                self.renderer.api_error(exc)
            except Unreachable as exc:
                self.renderer.error("UNREACHABLE", f"cannot reach the server ({exc})")

    def _follow(self, work: Callable[[], Turn]) -> Turn | None:
        """Run ``work``; Ctrl-C cancels the run being followed and shows how it ended."""
        try:
            return work()
        except KeyboardInterrupt:
            turn = self.client.current
            self.renderer.end_line()
            if turn is None or turn.run_id is None or turn.status != "running":
                return turn
            self.renderer.notice(f"· cancelling run {turn.run_id}…")
            try:
                status = self.client.stop(turn.run_id)
            except ApiError as exc:
                self.renderer.api_error(exc)
                return turn
            except Unreachable as exc:
                self.renderer.error("UNREACHABLE", str(exc))
                return turn
            if status in ACTIVE_RUN_STATUSES:
                self.renderer.error("CANCEL_FAILED", f"the server did not end run {turn.run_id} (still {status})")
                return turn
            try:
                return self.client.follow(turn.run_id, turn.last_seq)
            except KeyboardInterrupt:
                return turn


def _console_input(console: Console) -> InputFn:
    def read(prompt: str) -> str:
        return console.input(Text(prompt, style="bold"))

    return read


def run_terminal_chat(
    url: str,
    api_key: str,
    *,
    agent_id: str | None,
    session_id: str | None,
    console: Console | None = None,
    input_fn: InputFn | None = None,
    transport: httpx.BaseTransport | None = None,
) -> int:
    """The ``agentrt chat`` command; returns its exit code (0 on ``/quit``, 2 on a bad key or
    an unreachable server, 1 when no agent or session could be opened)."""
    console = console or Console()
    renderer = EventRenderer(console)
    with ChatClient(url, api_key, renderer=renderer, transport=transport) as client:
        chat = TerminalChat(client, console, input_fn or _console_input(console))
        return chat.run(agent_id, session_id)
