"""A chat in the browser: the plan as a live list of steps above the streamed reply, steps
that expand, a delegated sub-run nested under its step, the run's trace, a phone screen."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.api.server import Api
from tests.console.conftest import ConsolePage
from tests.console.proxy import Proxy

pytestmark = pytest.mark.console


def plan(*steps: tuple[str, str, dict[str, Any]] | tuple[str, str, dict[str, Any], list[str]]) -> dict[str, Any]:
    return {
        "steps": [
            {"id": s[0], "capability": s[1], "args": s[2], "depends_on": list(s[3]) if len(s) > 3 else []}
            for s in steps
        ]
    }


ANSWER = "6*7 is 42, and 42 + 1 is 43."


def test_chat_shows_the_plan_live_and_keeps_it_after_the_run(console: ConsolePage, api: Api, proxy: Proxy) -> None:
    agent = api.agent(
        [
            plan(("s1", "calculator", {"expression": "6*7"}), ("s2", "calculator", {"expression": "42+1"}, ["s1"])),
            {"$delay": 1.2, "$then": ANSWER},
        ],
        name="Arithmetic",
        description="Does sums with the calculator",
        skills=["calculator"],
    )
    page = console.page
    console.sign_in("/chat")
    page.click(f"[data-agent='{agent['id']}']")
    page.wait_for_selector("#composer-input")
    mark = proxy.mark()
    console.send("What is 6*7, plus one?")

    # the plan shows while the answer is still being written
    page.wait_for_selector(".msg.active .step[data-step='s2'][data-status='done']")
    assert page.locator(".msg.active .step").count() == 2
    assert page.locator(".composer button.stop").is_visible()
    console.shot("chat-running")

    console.wait_answer(ANSWER)
    console.wait_idle()
    # one POST, streamed: nothing fetched the answer a second way
    posts = [x for x in proxy.since(mark) if x.method == "POST" and x.path.endswith("/messages")]
    assert len(posts) == 1 and posts[0].response_headers["x-accel-buffering"] == "no"
    assert posts[0].headers["authorization"].startswith("Bearer agrt_")

    # the plan stays after the run; arguments and outputs expand on click
    finished = page.locator(".msg.assistant").last
    first = finished.locator(".step[data-step='s1']")
    assert first.get_attribute("data-status") == "done"
    first.locator(".step-head").click()
    assert first.locator(".step-head").get_attribute("aria-expanded") == "true"
    assert '"result": 42' in first.locator(".step-detail").inner_text()
    assert '"expression": "6*7"' in first.locator(".step-detail").inner_text()
    console.shot("chat-plan")

    # the trace: steps with timings, token usage
    finished.locator("a.trace-link").click()
    page.wait_for_selector(".trace-page .pill.status.completed")
    page.wait_for_selector(".timings tr[data-step='s2']")
    usage = page.locator(".usage").inner_text()
    assert "total tokens" in usage
    assert page.locator(".timings tbody tr").count() == 2
    assert re.fullmatch(r"[\d.]+ (ms|s)", page.locator(".trace-summary .duration").inner_text())
    console.shot("trace")

    # reopening the chat from the list shows the conversation again
    page.go_back()
    page.wait_for_selector(".sessions a.current >> text=What is 6*7, plus one?")
    console.wait_answer(ANSWER)


def test_a_delegated_sub_run_nests_under_its_step(console: ConsolePage, api: Api) -> None:
    helper = api.agent([{"steps": []}, {"$delay": 1.5, "$then": "The helper says 42."}], name="Helper")
    lead = api.agent(
        [plan(("d1", f"agent__{helper['id']}", {"task": "compute the answer"})), "The helper found 42."],
        name="Lead",
    )
    chat = api.session(lead["id"])
    console.sign_in()
    console.open_chat(chat["id"])
    console.send("Ask the helper")
    # the delegating step runs as long as the sub-run: its elapsed time ticks
    running = console.page.locator(".msg.active .step[data-step='d1'][data-status='running']")
    elapsed = running.locator(".elapsed")
    elapsed.wait_for()
    first = elapsed.inner_text()
    console.page.wait_for_function(
        "([el, before]) => !el || el.textContent !== before", arg=[elapsed.element_handle(), first]
    )
    assert re.fullmatch(r"[\d.]+ (ms|s)", first)
    assert running.locator(".subrun").count() == 1
    console.shot("delegation-running")
    console.wait_answer("The helper found 42.")
    step = console.page.locator(".msg.assistant .step[data-step='d1']").last
    nested = step.locator(".subrun")
    nested.wait_for()
    assert "compute the answer" in nested.inner_text()
    assert nested.locator(".subrun-answer").inner_text() == "The helper says 42."
    assert "completed" in nested.locator(".subrun-head").inner_text()


def test_phone_sized_screen(browser: Any, console: ConsolePage, api: Api, proxy: Proxy) -> None:
    agent = api.agent([plan(("s1", "calculator", {"expression": "2+2"})), "It is four."], skills=["calculator"])
    chat = api.session(agent["id"])
    phone = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True)
    try:
        small = ConsolePage(phone.new_page(), proxy.url, console.key, console.shots, console.test)
        small.sign_in()
        small.open_chat(chat["id"])
        page = small.page
        # the chat list is behind the menu button, not beside the conversation
        assert not page.locator(".sidebar").is_visible() or page.locator(".sidebar").bounding_box()["x"] < 0
        small.send("2+2?")
        small.wait_answer("It is four.")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways ({width}px)"
        small.shot("phone-chat")
        page.click("button.menu")
        page.wait_for_selector(".sidebar.open")
        page.wait_for_function("() => document.querySelector('.sidebar').getBoundingClientRect().x >= 0")
        small.shot("phone-chats")
        page.click("button.close-sidebar")
        page.wait_for_selector(".sidebar.open", state="detached")
        assert not small.errors, small.errors
    finally:
        phone.close()
