"""Never lose a reply: a connection cut by the network mid-stream, a page refresh, and a switch
to another chat and back all re-attach to the run through GET /v1/runs/{id}/events from the
last event seen — no gap, no duplicate on screen, and never a second POST of the message."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.api.server import Api
from tests.console.conftest import ConsolePage
from tests.console.proxy import Proxy

pytestmark = pytest.mark.console

WORDS = " ".join(f"word{i}" for i in range(400))
LONG_ANSWER = f"Here it comes: {WORDS}. The end."
CALC = {"steps": [{"id": "s1", "capability": "calculator", "args": {"expression": "1+1"}, "depends_on": []}]}


def eventually(probe: Callable[[], list[Any]], timeout: float = 10) -> list[Any]:
    """What `probe` returns once it is not empty (the browser's request may still be on its way)."""
    deadline = time.monotonic() + timeout
    while not (found := probe()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def posts(proxy: Proxy, mark: int) -> list[Any]:
    return [x for x in proxy.since(mark) if x.method == "POST" and x.path.endswith("/messages")]


def resumes(proxy: Proxy, mark: int) -> list[Any]:
    return [x for x in proxy.since(mark) if x.method == "GET" and x.path.endswith("/events")]


def test_a_stream_cut_mid_reply_resumes_with_no_gap_and_no_duplicate(
    console: ConsolePage, api: Api, proxy: Proxy
) -> None:
    agent = api.agent([CALC, LONG_ANSWER], name="Long-winded", skills=["calculator"])
    chat = api.session(agent["id"])
    page = console.page
    console.sign_in()
    console.open_chat(chat["id"])
    mark = proxy.mark()
    # ~4 KB in: past the plan and the step, in the middle of the answer's tokens, mid-event
    proxy.cut_next_stream(after_bytes=4000)
    console.send("Talk to me")
    console.wait_answer(LONG_ANSWER)
    console.wait_idle()

    [post] = posts(proxy, mark)
    assert post.cut and proxy.cuts >= 1
    [resume, *_] = eventually(lambda: resumes(proxy, mark))
    last_seen = int(resume.headers["last-event-id"])
    assert last_seen > 6, "the cut came after the plan and some tokens"
    assert resume.response_headers["x-accel-buffering"] == "no"
    # exactly once on screen, and the plan is whole
    assert page.locator(".msg.assistant > .bubble").all_text_contents() == [LONG_ANSWER]
    assert page.locator(".msg.assistant .step[data-step='s1']").get_attribute("data-status") == "done"
    assert len(posts(proxy, mark)) == 1
    console.shot("resumed-after-cut")


def test_refresh_and_switching_chats_mid_run_reattach(console: ConsolePage, api: Api, proxy: Proxy) -> None:
    answer = "Finished while you were away."
    agent = api.agent([CALC, {"$delay": 3.5, "$then": answer}], name="Patient", skills=["calculator"])
    other = api.session(agent["id"])
    chat = api.session(agent["id"])
    page = console.page
    console.sign_in()
    console.open_chat(chat["id"])
    mark = proxy.mark()
    console.send("Wait for it")
    page.locator(".msg.active .step[data-step='s1'][data-status='done']").wait_for()

    # another chat, and back: the same run, from the last event this page saw
    console.open_chat(other["id"])
    page.locator(".hint >> text=Say something").wait_for()
    console.open_chat(chat["id"])
    page.locator(".msg.active .step[data-step='s1'][data-status='done']").wait_for()
    [back] = eventually(lambda: resumes(proxy, mark))
    assert int(back.headers["last-event-id"]) >= 6
    assert page.locator(".msg.active").count() == 1

    # a refresh: the page starts over and reads the run's log, still live
    page.reload()
    page.locator(".msg.active .step[data-step='s1'][data-status='done']").wait_for()
    assert "Wait for it" in page.locator(".msg.user .bubble").all_text_contents()
    console.shot("reattached-after-refresh")
    console.wait_answer(answer)
    console.wait_idle()
    assert page.locator(".msg.assistant > .bubble").all_text_contents() == [answer]
    assert page.locator(".msg.user .bubble").all_text_contents() == ["Wait for it"]
    assert len(posts(proxy, mark)) == 1, "the message was sent once"
    assert len(resumes(proxy, mark)) >= 2
