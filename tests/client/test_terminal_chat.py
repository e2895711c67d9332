"""``agentrt chat`` against a real server (SQLite): rendering, re-attaching, approvals, errors."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console

from agentrt.client.terminal import (
    EXIT_OK,
    EXIT_UNAVAILABLE,
    ApiError,
    ChatClient,
    EventRenderer,
    TerminalChat,
    Turn,
    Verdict,
    parse_verdict,
    run_terminal_chat,
)
from tests.api.server import Api, Server, free_port

CALC_PLAN = {"steps": [{"id": "s1", "capability": "calculator", "args": {"expression": "6*7"}, "depends_on": []}]}
ANSWER = "The answer is 42."
HIGH_RISK_CALCULATOR = {"high_risk_tools": ["calculator"]}
MAX_MESSAGE_LENGTH = 2000


# --- fixtures and helpers ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("agentrt-chat")
    srv = Server(
        f"sqlite+aiosqlite:///{data_dir / 'agentrt.sqlite'}",
        data_dir,
        extra_env={"MAX_MESSAGE_LENGTH": str(MAX_MESSAGE_LENGTH)},
    )
    yield srv.start()
    srv.stop()


@pytest.fixture
def api(server: Server) -> Iterator[Api]:
    client = server.client()
    yield client
    client.http.close()


def console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=100), out


class Inputs:
    """Scripted answers to the client's prompts; ``EOFError`` once they run out.
    The answer ``"^C"`` raises ``KeyboardInterrupt``."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.prompts: list[str] = []

    def __call__(self, prompt: str) -> str:
        self.prompts.append(prompt)
        if not self.answers:
            raise EOFError
        answer = self.answers.pop(0)
        if answer == "^C":
            raise KeyboardInterrupt
        return answer

    def approvals(self) -> int:
        return sum(p.startswith("approve?") for p in self.prompts)


class _CutStream(httpx.SyncByteStream):
    """A response body that fails with ``ReadError`` after ``after`` SSE events."""

    def __init__(self, inner: httpx.SyncByteStream, after: int) -> None:
        self.inner = inner
        self.after = after

    def __iter__(self) -> Iterator[bytes]:
        if self.after == 0:
            raise httpx.ReadError("simulated drop before the first event")
        buffer, events = b"", 0
        for chunk in self.inner:
            buffer += chunk
            while (end := re.search(rb"\r?\n\r?\n", buffer)) is not None:
                block, buffer = buffer[: end.end()], buffer[end.end() :]
                yield block
                if b"data:" in block:
                    events += 1
                    if events >= self.after:
                        raise httpx.ReadError(f"simulated drop after {events} events")

    def close(self) -> None:
        self.inner.close()


class DroppingTransport(httpx.BaseTransport):
    """The real HTTP transport, except that the n-th event stream opened is cut after
    ``cuts[n]`` events (``None``: not cut). Records every request."""

    def __init__(self, *cuts: int | None) -> None:
        self.inner = httpx.HTTPTransport()
        self.cuts = list(cuts)
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        response = self.inner.handle_request(request)
        if request.headers.get("accept") != "text/event-stream" or not self.cuts:
            return response
        cut = self.cuts.pop(0)
        if cut is None or response.status_code != 200:
            return response
        assert isinstance(response.stream, httpx.SyncByteStream)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_CutStream(response.stream, cut),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self.inner.close()

    def streams(self) -> list[tuple[str, str, str | None]]:
        return [
            (r.method, r.url.path, r.headers.get("last-event-id"))
            for r in self.requests
            if r.headers.get("accept") == "text/event-stream"
        ]


def client_for(
    server: Server, out: Console, *, transport: httpx.BaseTransport | None = None, approver: Any = None, **kw: Any
) -> ChatClient:
    client = ChatClient(
        server.url, server.admin_key, renderer=EventRenderer(out), transport=transport, backoff=(0.01, 0.05), **kw
    )
    if approver is not None:
        client.approver = approver
    return client


def normalized(text: str) -> str:
    """Without what differs between two runs of one script, or a re-attach's notices."""
    text = re.sub(r"\(\d+ ms\)", "(N ms)", text)
    text = re.sub(r"\b(run|sess|msg)_[0-9a-f]+", r"\1_X", text)
    return "\n".join(line for line in text.splitlines() if "re-connecting" not in line)


def chat_once(
    server: Server, api: Api, script: list[Any], *, transport: httpx.BaseTransport | None = None, **agent: Any
) -> tuple[Turn, str]:
    made = api.agent(script, **agent)
    chat = api.session(made["id"])
    out, text = console()
    with client_for(server, out, transport=transport) as client:
        turn = client.send(chat["id"], "what is 6*7?")
    return turn, text.getvalue()


# --- a whole chat ---------------------------------------------------------------------------------
def test_full_chat_renders_the_plan_the_step_and_the_streamed_answer(server: Server, api: Api) -> None:
    made = api.agent([CALC_PLAN, ANSWER], name="calc")
    out, text = console()
    inputs = Inputs("what is 6*7?", "/quit")

    code = run_terminal_chat(
        server.url, server.admin_key, agent_id=made["id"], session_id=None, console=out, input_fn=inputs
    )

    shown = text.getvalue()
    assert code == EXIT_OK
    assert inputs.prompts == ["you> ", "you> "]
    assert "· new session sess_" in shown and "with calc" in shown
    lines = shown.splitlines()
    plan = lines.index("plan:")
    assert lines[plan + 1] == "  1. s1 calculator(expression=6*7)"
    started = lines.index("  ▸ s1 calculator(expression=6*7) …")
    finished = next(i for i, line in enumerate(lines) if line.startswith("  ✓ s1 calculator → "))
    assert '{"expression": "6*7", "result": 42}' in lines[finished]
    answer = lines.index(f"agent: {ANSWER}")
    assert plan < started < finished < answer
    assert shown.count(ANSWER) == 1
    assert "error" not in shown

    tree = api.ok("GET", f"/v1/sessions?agent_id={made['id']}")
    assert len(tree) == 1


def test_the_agent_is_picked_from_a_numbered_list(server: Server, api: Api) -> None:
    made = api.agent([CALC_PLAN, ANSWER], name="picked from the list")
    agents = api.ok("GET", "/v1/agents")
    number = [a["id"] for a in agents].index(made["id"]) + 1
    out, text = console()
    inputs = Inputs("0", str(number), "what is 6*7?", "/quit")

    code = run_terminal_chat(server.url, server.admin_key, agent_id=None, session_id=None, console=out, input_fn=inputs)

    shown = text.getvalue()
    assert code == EXIT_OK
    assert f"  {number}. picked from the list" in shown
    assert f"pick a number from 1 to {len(agents)}" in shown  # "0" was refused
    assert "with picked from the list" in shown and f"agent: {ANSWER}" in shown


def test_new_starts_another_session_and_resume_prints_the_branch(server: Server, api: Api) -> None:
    made = api.agent([CALC_PLAN, ANSWER])
    out, text = console()
    code = run_terminal_chat(
        server.url,
        server.admin_key,
        agent_id=made["id"],
        session_id=None,
        console=out,
        input_fn=Inputs("what is 6*7?", "/new"),
    )
    assert code == EXIT_OK  # end of input quits too
    sessions = api.ok("GET", f"/v1/sessions?agent_id={made['id']}")
    assert len(sessions) == 2
    first_id = re.findall(r"new session (sess_[0-9a-f]+)", text.getvalue())[0]
    used = next(s for s in sessions if s["id"] == first_id)

    out, text = console()
    code = run_terminal_chat(
        server.url, server.admin_key, agent_id=None, session_id=used["id"], console=out, input_fn=Inputs("/quit")
    )

    shown = text.getvalue()
    assert code == EXIT_OK
    assert f"· session {used['id']}" in shown
    assert "you: what is 6*7?\nagent: The answer is 42.\n" in shown
    assert "plan:" not in shown  # the history, not the run's events


# --- re-attaching ---------------------------------------------------------------------------------
def test_a_dropped_stream_is_reattached_by_seq_without_printing_anything_twice(server: Server, api: Api) -> None:
    script: list[Any] = [CALC_PLAN, {"$delay": 0.3, "$then": ANSWER}]
    clean_turn, clean = chat_once(server, api, script)
    # The post's stream is cut after 4 events, the first re-attach after 2 more, then one while
    # the answer is still being written (the run is live), the last is left alone.
    transport = DroppingTransport(4, 2, 0, None)
    turn, shown = chat_once(server, api, script, transport=transport)

    assert clean_turn.status == turn.status == "done"
    assert turn.last_seq == clean_turn.last_seq == turn.events
    assert shown.count("connection lost; re-connecting") == 3
    assert normalized(shown) == normalized(clean)
    assert shown.count(ANSWER) == 1 and shown.count("plan:") == 1
    messages = f"/v1/sessions/{api.ok('GET', f'/v1/runs/{turn.run_id}')['session_id']}/messages"
    events = f"/v1/runs/{turn.run_id}/events"
    assert transport.streams() == [
        ("POST", messages, None),
        ("GET", events, "4"),
        ("GET", events, "6"),
        ("GET", events, "6"),
    ]


def test_a_stream_dropped_before_its_first_event_finds_its_run_and_never_reposts(server: Server, api: Api) -> None:
    script: list[Any] = [CALC_PLAN, ANSWER]
    _, clean = chat_once(server, api, script)
    transport = DroppingTransport(0)
    turn, shown = chat_once(server, api, script, transport=transport)

    assert turn.status == "done"
    assert normalized(shown) == normalized(clean)
    assert [method for method, _, _ in transport.streams()] == ["POST", "GET"]
    assert transport.streams()[1][2] == "0"
    assert sum(r.method == "POST" for r in transport.requests) == 1


def test_follow_after_a_seq_prints_only_the_later_events(server: Server, api: Api) -> None:
    first, _ = chat_once(server, api, [CALC_PLAN, ANSWER])
    assert first.run_id is not None
    everything = api.events(first.run_id)
    after = next(e["seq"] for e in everything if e["type"] == "step_finished")

    out, text = console()
    with client_for(server, out) as client:
        turn = client.follow(first.run_id, after)

    shown = text.getvalue()
    assert turn.status == "done" and turn.last_seq == everything[-1]["seq"]
    assert turn.events == len(everything) - after
    assert shown == f"agent: {ANSWER}\n"


def test_following_gives_up_after_the_reconnect_budget_with_backoff() -> None:
    out, text = console()
    delays: list[float] = []
    with ChatClient(
        f"http://127.0.0.1:{free_port()}",
        "key",
        renderer=EventRenderer(out),
        backoff=(0.5, 4.0),
        max_reconnects=5,
        sleep=delays.append,
    ) as client:
        turn = client.follow("run_gone", 3)

    assert turn.status == "lost" and turn.events == 0
    assert delays == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert "error CONNECTION_LOST: gave up re-connecting to the run's stream (run run_gone" in text.getvalue()


# --- approvals ------------------------------------------------------------------------------------
def test_an_approval_is_asked_decided_and_the_run_followed_to_its_answer(server: Server, api: Api) -> None:
    made = api.agent([CALC_PLAN, ANSWER], runtime_policy=HIGH_RISK_CALCULATOR)
    transport = DroppingTransport()
    out, text = console()
    inputs = Inputs("what is 6*7?", "y looks right", "/quit")
    with ChatClient(server.url, server.admin_key, renderer=EventRenderer(out), transport=transport) as client:
        code = TerminalChat(client, out, inputs).run(made["id"], None)

    shown = text.getvalue()
    assert code == EXIT_OK
    assert inputs.approvals() == 1
    lines = shown.splitlines()
    asked = lines.index("⚠ approval needed: step s1 wants to run calculator(expression=6*7)")
    assert lines[asked + 1] == "  why: calculator is listed in runtime_policy.high_risk_tools"
    resolved = lines.index("  approved: step s1 (looks right)")
    finished = next(i for i, line in enumerate(lines) if line.startswith("  ✓ s1 calculator"))
    assert asked < resolved < finished < lines.index(f"agent: {ANSWER}")
    assert shown.count("approval needed") == 1 and shown.count(ANSWER) == 1

    approvals = api.ok("GET", "/v1/approvals", params={"status": "approved"})
    mine = [a for a in approvals if a["comment"] == "looks right"]
    assert len(mine) == 1 and mine[0]["capability"] == "calculator"
    # One post for the message; after the approval the run was followed by id, after its seq.
    streams = transport.streams()
    assert [method for method, _, _ in streams] == ["POST", "GET"]
    approval_seq = next(e["seq"] for e in api.events(mine[0]["run_id"]) if e["type"] == "approval_required")
    assert streams[1] == ("GET", f"/v1/runs/{mine[0]['run_id']}/events", str(approval_seq))


def test_a_rejected_step_fails_and_the_agent_answers_without_it(server: Server, api: Api) -> None:
    made = api.agent([CALC_PLAN, {"steps": []}, "I did not compute it."], runtime_policy=HIGH_RISK_CALCULATOR)
    out, text = console()
    inputs = Inputs("what is 6*7?", "n not now", "/quit")

    code = run_terminal_chat(
        server.url, server.admin_key, agent_id=made["id"], session_id=None, console=out, input_fn=inputs
    )

    shown = text.getvalue()
    assert code == EXIT_OK and inputs.approvals() == 1
    assert "  rejected: step s1 (not now)" in shown
    assert "  ✗ s1 calculator failed: a human rejected this step: not now [rejected]" in shown
    assert "↻ re-planning (step_failed, attempt 1)" in shown
    assert "agent: I did not compute it." in shown
    assert "✓ s1" not in shown


def test_a_pending_approval_survives_leaving_and_is_answered_on_resume(server: Server, api: Api) -> None:
    made = api.agent([CALC_PLAN, ANSWER], runtime_policy=HIGH_RISK_CALCULATOR)
    out, text = console()
    inputs = Inputs("what is 6*7?")  # then end of input, at the approval prompt

    code = run_terminal_chat(
        server.url, server.admin_key, agent_id=made["id"], session_id=None, console=out, input_fn=inputs
    )

    assert code == EXIT_OK and inputs.approvals() == 1
    assert "left pending; the run waits for a decision" in text.getvalue()
    session_id = re.findall(r"new session (sess_[0-9a-f]+)", text.getvalue())[0]
    session = api.ok("GET", f"/v1/sessions/{session_id}")
    assert session["active_run_id"]

    # Meanwhile the session is busy: a message is refused plainly.
    out, text = console()
    with client_for(server, out) as client:
        with pytest.raises(ApiError) as refused:
            client.send(session_id, "another question")
        assert (refused.value.status, refused.value.code) == (409, "SESSION_BUSY")

    out, text = console()
    inputs = Inputs("y", "/quit")
    code = run_terminal_chat(
        server.url, server.admin_key, agent_id=None, session_id=session_id, console=out, input_fn=inputs
    )

    shown = text.getvalue()
    assert code == EXIT_OK and inputs.approvals() == 1
    assert "you: what is 6*7?\n" in shown
    assert f"run {session['active_run_id']} is still going; following it" in shown
    assert shown.count("approval needed") == 1
    assert "  approved: step s1\n" in shown and f"agent: {ANSWER}" in shown
    assert api.ok("GET", f"/v1/runs/{session['active_run_id']}")["status"] == "completed"


def test_ctrl_c_at_the_approval_prompt_cancels_the_run(server: Server, api: Api) -> None:
    made = api.agent([CALC_PLAN, ANSWER], runtime_policy=HIGH_RISK_CALCULATOR)
    out, text = console()
    inputs = Inputs("what is 6*7?", "^C", "/quit")

    code = run_terminal_chat(
        server.url, server.admin_key, agent_id=made["id"], session_id=None, console=out, input_fn=inputs
    )

    shown = text.getvalue()
    assert code == EXIT_OK and inputs.prompts[-1] == "you> "
    assert "· cancelling run run_" in shown
    assert "error SSE_STREAM_ERROR (RUN_CANCELLED): the run was cancelled" in shown
    run_id = re.findall(r"cancelling run (run_[0-9a-f]+)", shown)[0]
    assert api.ok("GET", f"/v1/runs/{run_id}")["status"] == "cancelled"


def test_an_approval_for_the_file_write_skill(server: Server, api: Api) -> None:
    skill = api.post(
        "/v1/skills",
        json={
            "name": "file_write",
            "version": "0.1.0",
            "description": "Writes a file under ./workspace (tests only).",
            "schema": {
                "type": "object",
                "properties": {"path": {"type": "string"}, "content": {"type": "string"}},
                "required": ["path", "content"],
                "additionalProperties": False,
            },
        },
    )
    if skill.status_code in (404, 405):
        pytest.skip("POST /v1/skills is not served yet: file_write cannot be bound to an agent")
    assert skill.status_code in (201, 409), skill.text  # 409: created by an earlier run of this module
    plan = {
        "steps": [
            {"id": "w1", "capability": "file_write", "args": {"path": "note.txt", "content": "hello"}, "depends_on": []}
        ]
    }
    made = api.agent([plan, "Written."], skills=["file_write"])
    out, text = console()
    inputs = Inputs("write a note", "y", "/quit")

    code = run_terminal_chat(
        server.url, server.admin_key, agent_id=made["id"], session_id=None, console=out, input_fn=inputs
    )

    shown = text.getvalue()
    assert code == EXIT_OK and inputs.approvals() == 1
    assert "⚠ approval needed: step w1 wants to run file_write(path=note.txt, content=hello)" in shown
    assert "file_write is listed in runtime_policy.high_risk_tools" in shown
    assert "  ✓ w1 file_write → " in shown and "agent: Written." in shown
    assert (server.data_dir / "workspace" / "note.txt").read_text() == "hello"


# --- errors -----------------------------------------------------------------------------------------
def test_a_bad_key_exits_2_with_a_clear_message(server: Server) -> None:
    out, text = console()
    code = run_terminal_chat(
        server.url, "agrt_not_a_key", agent_id=None, session_id=None, console=out, input_fn=Inputs()
    )
    assert code == EXIT_UNAVAILABLE == 2
    assert text.getvalue() == "error UNAUTHORIZED: the server refused the API key (invalid or revoked API key)\n"


def test_an_unreachable_server_exits_2_with_a_clear_message(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    out, text = console()
    code = run_terminal_chat(url, "key", agent_id=None, session_id=None, console=out, input_fn=Inputs())
    assert code == EXIT_UNAVAILABLE
    assert text.getvalue().startswith(f"error UNREACHABLE: cannot reach the agentrt server at {url} (")


def test_refusals_are_shown_and_the_chat_goes_on(server: Server, api: Api) -> None:
    made = api.agent([CALC_PLAN, ANSWER])
    out, text = console()
    inputs = Inputs("x" * (MAX_MESSAGE_LENGTH + 1), "what is 6*7?", "/quit")

    code = run_terminal_chat(
        server.url, server.admin_key, agent_id=made["id"], session_id=None, console=out, input_fn=inputs
    )

    shown = text.getvalue()
    assert code == EXIT_OK
    limit = MAX_MESSAGE_LENGTH
    assert f"error VALIDATION_MESSAGE_TOO_LONG: message is {limit + 1} characters; the limit is {limit}" in shown
    assert f"agent: {ANSWER}" in shown


def test_a_failed_run_shows_its_explanation_and_its_error(server: Server, api: Api) -> None:
    made = api.agent([{"$error": "model unavailable"}])
    chat = api.session(made["id"])
    out, text = console()
    with client_for(server, out) as client:
        turn = client.send(chat["id"], "hello")

    shown = text.getvalue()
    assert turn.status == "error" and turn.error is not None
    assert turn.error["code"] == "SSE_STREAM_ERROR"
    assert re.search(r"^error SSE_STREAM_ERROR \(\w+\): .*model unavailable", shown, re.MULTILINE), shown


def test_unknown_agent_exits_1(server: Server) -> None:
    out, text = console()
    code = run_terminal_chat(
        server.url, server.admin_key, agent_id="agent_nope", session_id=None, console=out, input_fn=Inputs()
    )
    assert code == 1
    assert "error NOT_FOUND: no agent 'agent_nope' in this organisation" in text.getvalue()


# --- pieces -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("answer", "verdict"),
    [
        ("y", Verdict(True)),
        ("YES ship it", Verdict(True, "ship it")),
        ("", Verdict(False)),
        ("n too risky", Verdict(False, "too risky")),
        ("maybe later", Verdict(False, "maybe later")),
    ],
)
def test_parse_verdict(answer: str, verdict: Verdict) -> None:
    assert parse_verdict(answer) == verdict


def test_the_renderer_prints_an_unstreamed_message_and_ends_the_token_line() -> None:
    out, text = console()
    renderer = EventRenderer(out)
    for event in [
        {"type": "token", "seq": 1, "run_id": "r", "data": {"text": "Hel"}},
        {"type": "token", "seq": 2, "run_id": "r", "data": {"text": "lo"}},
        {
            "type": "step_failed",
            "seq": 3,
            "run_id": "r",
            "data": {"step_id": "s2", "capability": "http", "error": "boom", "reason": "error"},
        },
        {
            "type": "plan",
            "seq": 4,
            "run_id": "r",
            "data": {
                "steps": [{"id": "x", "capability": "nope", "args": {}}],
                "attempt": 2,
                "valid": False,
                "errors": ["unknown capability nope"],
            },
        },
        {"type": "something_new", "seq": 5, "run_id": "r", "data": {"a": 1}},
    ]:
        renderer.render(event)
    renderer.begin_run()
    renderer.render({"type": "message", "seq": 1, "run_id": "r2", "data": {"content": "Not streamed."}})
    renderer.render(
        {
            "type": "error",
            "seq": 2,
            "run_id": "r2",
            "data": {"code": "SSE_STREAM_ERROR", "message": "no plan", "cause": {"code": "PLAN_INVALID"}},
        }
    )
    assert text.getvalue() == (
        "agent: Hello\n"
        "  ✗ s2 http failed: boom [error]\n"
        "plan (attempt 2):\n"
        "  1. x nope()\n"
        "  plan refused: unknown capability nope\n"
        '· something_new: {"a": 1}\n'
        "agent: Not streamed.\n"
        "error SSE_STREAM_ERROR (PLAN_INVALID): no plan\n"
    )
