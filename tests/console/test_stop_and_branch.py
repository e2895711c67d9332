"""Stopping a run (before anything came back), and branching a conversation: edit an earlier
message, regenerate an answer, switch between the versions (‹ 1/2 ›)."""

from __future__ import annotations

import time

import pytest

from tests.api.server import Api
from tests.console.conftest import ConsolePage
from tests.console.proxy import Proxy

pytestmark = pytest.mark.console


def test_stop_before_the_first_token_cancels_the_run_on_the_server(
    console: ConsolePage, api: Api, proxy: Proxy
) -> None:
    agent = api.agent([{"$delay": 6, "$then": {"steps": []}}, "never said"], name="Slow")
    chat = api.session(agent["id"])
    page = console.page
    console.sign_in()
    console.open_chat(chat["id"])
    mark = proxy.mark()
    proxy.hold_next_stream(0.8)  # the POST's answer comes late: Stop is pressed before any event arrived
    started = time.monotonic()
    console.send("Take your time")
    page.click(".composer button.stop")
    page.locator(".run-error.cancelled >> text=Stopped.").wait_for()
    assert time.monotonic() - started < 5, "the run was not cancelled before its planner answered"
    console.wait_idle()
    console.shot("stopped")

    [question] = api.ok("GET", f"/v1/sessions/{chat['id']}/messages")["messages"]
    run_id = question["run_id"]
    assert api.ok("GET", f"/v1/runs/{run_id}")["status"] == "cancelled"
    events = api.events(run_id)
    assert "token" not in [e["type"] for e in events]
    assert events[-1]["data"]["cause"]["code"] == "RUN_CANCELLED"
    requests = [(x.method, x.path.split("/v1/")[-1]) for x in proxy.since(mark) if "/v1/" in x.path]
    assert requests.count(("POST", f"sessions/{chat['id']}/messages")) == 1
    assert ("POST", f"runs/{run_id}/cancel") in requests
    assert page.locator(".bubble.answer").count() == 0


def test_edit_regenerate_and_switch_branches(console: ConsolePage, api: Api) -> None:
    agent = api.agent([{"steps": []}, {"$delay": 0.6, "$then": "Noted."}], name="Echo")
    chat = api.session(agent["id"])
    page = console.page
    console.sign_in()
    console.open_chat(chat["id"])
    for text in ("first question", "second question"):
        console.send(text)
        console.wait_idle()
    users = page.locator(".msg.user .bubble")
    assert users.all_text_contents() == ["first question", "second question"]

    # edit the second question: a new branch under the first answer
    second = page.locator(".msg.user").nth(1)
    second.locator("button.edit-button").click()
    second.locator("textarea").fill("second question, edited")
    second.locator("button.save-edit").click()
    # the switcher is right while the new answer streams
    edited = page.locator(".msg.user", has_text="second question, edited")
    edited.locator(".switcher .count >> text=2/2").wait_for()
    console.wait_idle()
    assert users.all_text_contents() == ["first question", "second question, edited"]
    assert page.locator(".msg.user").nth(1).locator(".switcher .count").inner_text() == "2/2"
    console.shot("branch-edited")

    # switch back to the first version and forth again
    page.locator(".msg.user").nth(1).get_by_role("button", name="Previous version").click()
    page.locator(".msg.user").nth(1).locator(".switcher .count >> text=1/2").wait_for()
    assert users.all_text_contents() == ["first question", "second question"]
    page.locator(".msg.user").nth(1).get_by_role("button", name="Next version").click()
    page.locator(".msg.user").nth(1).locator(".switcher .count >> text=2/2").wait_for()
    assert users.all_text_contents() == ["first question", "second question, edited"]

    # regenerate the first answer: the first exchange gets a sibling
    page.locator(".msg.assistant").first.locator("button.regenerate").click()
    page.locator(".msg.user").first.locator(".switcher .count >> text=2/2").wait_for()
    console.wait_idle()
    assert users.all_text_contents() == ["first question"]
    assert page.locator(".msg.assistant > .bubble").all_text_contents() == ["Noted."]
    page.locator(".msg.user").first.get_by_role("button", name="Previous version").click()
    page.locator(".msg.user").first.locator(".switcher .count >> text=1/2").wait_for()
    # the branch below comes back as it was last shown
    assert users.all_text_contents() == ["first question", "second question, edited"]
    console.shot("branch-switched")

    # the server agrees: two roots, two children under the first answer
    tree = api.ok("GET", f"/v1/sessions/{chat['id']}/messages")
    roots = [m for m in tree["messages"] if m["parent_id"] is None]
    assert [m["content"] for m in roots] == ["first question", "first question"]
    first_answer = next(m for m in tree["messages"] if m["parent_id"] == roots[0]["id"])
    assert len(first_answer["children"]) == 2
