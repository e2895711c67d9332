"""Read while it streams: a long answer into a long conversation (300 messages) keeps the page
answering — clicks and keys handled within 200 ms while tokens arrive — and auto-scroll
follows the reply only while the reader is at the bottom."""

from __future__ import annotations

import time

import pytest

from tests.api.server import Api
from tests.console.conftest import ConsolePage
from tests.console.proxy import Proxy

pytestmark = pytest.mark.console

EXCHANGES = 150
LONG_ANSWER = " ".join(f"token{i}" for i in range(4000))
CALC = {"steps": [{"id": "s1", "capability": "calculator", "args": {"expression": "3*3"}, "depends_on": []}]}
BUDGET_MS = 200

PROBES = """() => {
  window.__latency = [];
  window.__longTasks = [];
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) window.__longTasks.push(entry.duration);
  }).observe({ type: 'longtask' });
  // from the input event's creation to the next frame after its handlers ran
  for (const type of ['click', 'input']) {
    document.addEventListener(type, (event) => {
      const created = event.timeStamp;
      requestAnimationFrame(() => window.__latency.push([type, performance.now() - created]));
    }, true);
  }
}"""

SCROLLER = "document.querySelector('.scroller')"
GAP = f"() => {{ const s = {SCROLLER}; return s.scrollHeight - s.scrollTop - s.clientHeight; }}"
AT_BOTTOM = f"() => {{ const s = {SCROLLER}; return s.scrollHeight - s.scrollTop - s.clientHeight < 60; }}"


def streaming(console: ConsolePage) -> bool:
    return bool(console.page.locator(".msg.active .bubble.answer.streaming").count())


def test_the_page_keeps_answering_while_a_long_reply_streams(console: ConsolePage, api: Api, proxy: Proxy) -> None:
    agent = api.agent([{"steps": []}, "A short answer, for the history."], name="Chatty", skills=["calculator"])
    chat = api.session(agent["id"])
    for i in range(EXCHANGES):
        api.chat(chat["id"], f"Question {i}: tell me something.")
    api.ok("PATCH", f"/v1/agents/{agent['id']}", json={"metadata": {"script": [CALC, LONG_ANSWER]}})

    page = console.page
    console.sign_in()
    console.open_chat(chat["id"])
    page.wait_for_function(f"() => document.querySelectorAll('.messages > li.msg').length >= {2 * EXCHANGES}")
    page.wait_for_function(AT_BOTTOM)  # opened at the bottom
    page.evaluate(PROBES)

    proxy.throttle_streams(chunk=1000, interval=0.02)  # ~50 KB/s: the 4000 tokens take ~9 s
    try:
        console.send("Now a long one, please.")
        page.locator(".msg.active .bubble.answer.streaming").wait_for()

        # at the bottom: the reply is followed as it grows
        grown = []
        for _ in range(3):
            time.sleep(0.25)
            grown.append(page.evaluate(f"() => {SCROLLER}.scrollHeight"))
            assert page.evaluate(GAP) < 60, "auto-scroll stopped following the reply"
        assert grown[0] < grown[-1], "no tokens arrived"

        # typing and clicking in the message box while tokens arrive
        box = page.locator("#composer-input")
        box.click()
        box.press_sequentially("hello", delay=60)
        for _ in range(3):
            box.click()
            time.sleep(0.15)

        # scrolled up to read: the page stays where the reader is
        page.locator(".scroller").hover()
        page.mouse.wheel(0, -2500)
        time.sleep(0.3)
        kept = page.evaluate(f"() => {SCROLLER}.scrollTop")
        time.sleep(0.6)
        assert page.evaluate(f"() => {SCROLLER}.scrollTop") == kept
        assert page.evaluate(GAP) > 500
        jump = page.locator("button.jump")
        jump.wait_for()
        console.shot("long-scrolled-up")
        assert streaming(console), "the reply ended before the checks: make it longer"
        jump.click()
        page.wait_for_function(AT_BOTTOM)
        assert streaming(console), "the reply ended before the checks: make it longer"

        console.wait_answer(LONG_ANSWER, timeout=30_000)
    finally:
        proxy.unthrottle()
    console.wait_idle()

    latency = page.evaluate("window.__latency")
    long_tasks = page.evaluate("window.__longTasks")
    handled = [ms for _, ms in latency]
    assert len([t for t, _ in latency if t == "click"]) >= 5 and len([t for t, _ in latency if t == "input"]) >= 5
    assert max(handled) < BUDGET_MS, f"slowest input took {max(handled):.0f} ms: {latency}"
    assert not [t for t in long_tasks if t >= BUDGET_MS], f"long tasks: {long_tasks}"
    assert box.input_value() == "hello"
    # the whole reply, once, after 300 other messages
    assert page.locator(".msg.assistant > .bubble").last.text_content() == LONG_ANSWER
    assert page.locator(".messages > li.msg").count() == 2 * EXCHANGES + 2
    print(f"\ninput latency (ms): {[round(ms) for ms in handled]}; long tasks (ms): {[round(t) for t in long_tasks]}")
