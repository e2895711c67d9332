"""Managing agents from the console, and using it from the keyboard alone."""

from __future__ import annotations

import json

import pytest

from tests.api.server import Api
from tests.console.conftest import ConsolePage

pytestmark = pytest.mark.console

SCRIPT = [
    {"steps": [{"id": "c", "capability": "calculator", "args": {"expression": "1+1"}, "depends_on": []}]},
    "Two.",
]


def test_create_and_change_an_agent(console: ConsolePage, api: Api) -> None:
    calculator = next(s for s in api.ok("GET", "/v1/skills", params={"name": "calculator"}))
    page = console.page
    console.sign_in("/agents")
    page.click("text=+ New agent")
    form = page.locator("form.agent-form")
    form.locator("input[name=name]").fill("Reviewer")
    form.locator("input[name=model]").fill("scripted")
    form.locator("input[name=temperature]").fill("0.3")
    form.locator("textarea[name=system_prompt]").fill("You review sums.")
    row = form.locator("tr[data-skill=calculator]")
    row.locator("input[type=checkbox]").check()
    row.locator("select").select_option(calculator["id"])  # pinned to this version
    form.locator("input[name=max_iterations]").fill("5")
    form.locator("input[name=enable_delegation]").uncheck()
    form.locator("input[name=high_risk_tools]").fill("calculator, shell_exec")
    form.locator("details.advanced summary").click()
    form.locator("textarea[name=metadata]").fill(json.dumps({"script": SCRIPT}))
    console.shot("agent-form", full_page=True)
    form.locator("button[type=submit]").click()
    page.locator(".agent-list a.current >> text=Reviewer").wait_for()

    [agent] = [a for a in api.ok("GET", "/v1/agents") if a["name"] == "Reviewer"]
    assert (agent["model"], agent["temperature"], agent["system_prompt"]) == ("scripted", 0.3, "You review sums.")
    assert agent["skills"] == [calculator["id"]]
    policy = agent["runtime_policy"]
    assert (policy["max_iterations"], policy["enable_delegation"]) == (5, False)
    assert policy["high_risk_tools"] == ["calculator", "shell_exec"]
    assert agent["metadata"] == {"script": SCRIPT}

    # a change, and a refusal said plainly
    form = page.locator("form.agent-form")
    form.locator("textarea[name=system_prompt]").fill("You review sums carefully.")
    form.locator("input[name=temperature]").fill("1.5")
    form.locator("button[type=submit]").click()
    form.locator(".ok-text >> text=Saved.").wait_for()
    changed = api.ok("GET", f"/v1/agents/{agent['id']}")
    assert (changed["system_prompt"], changed["temperature"]) == ("You review sums carefully.", 1.5)
    form.locator("details.advanced summary").click()
    form.locator("textarea[name=metadata]").fill("{not json")
    form.locator("button[type=submit]").click()
    assert "Metadata must be a JSON object" in form.locator(".error-text").inner_text()

    # its policy is in force: the calculator now needs a human
    page.click("text=Chat with it →")
    page.click("button.new-chat")
    page.wait_for_selector("#composer-input")
    console.send("1+1?")
    page.locator(".msg.active article.approval.pending >> text=calculator").first.wait_for()
    page.locator(".msg.active button.approve").click()
    console.wait_answer("Two.")


def test_the_keyboard_alone_is_enough(console: ConsolePage, api: Api) -> None:
    agent = api.agent([{"$delay": 5, "$then": {"steps": []}}, "late"], name="Keyboard")
    chat = api.session(agent["id"])
    page = console.page
    console.open("/chat")
    page.locator("#api-key").wait_for()
    assert page.evaluate("document.activeElement.id") == "api-key"
    page.keyboard.type(console.key)
    page.keyboard.press("Enter")
    page.wait_for_selector(".topbar")

    page.keyboard.press("?")
    page.get_by_role("dialog", name="Keyboard shortcuts").wait_for()
    console.shot("shortcuts")
    page.keyboard.press("Escape")
    assert page.get_by_role("dialog").count() == 0

    page.keyboard.press("g")
    page.keyboard.press("a")
    page.locator(".agents-page").wait_for()
    page.keyboard.press("g")
    page.keyboard.press("p")
    page.locator(".approvals-page").wait_for()
    page.keyboard.press("g")
    page.keyboard.press("c")
    page.locator(".chat-layout").wait_for()

    console.open_chat(chat["id"])
    page.locator(".scroller").focus()
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "composer-input"
    page.keyboard.type("Stop me with Escape")
    page.keyboard.press("Enter")
    page.locator(".composer button.stop").wait_for()
    page.keyboard.press("Escape")
    page.locator(".run-error.cancelled >> text=Stopped.").wait_for()
    console.wait_idle()

    # controls are reached with Tab and show where the focus is
    page.keyboard.press("/")
    page.keyboard.press("Shift+Tab")
    focused = page.evaluate(
        "() => [document.activeElement.tagName, document.activeElement.className,"
        " getComputedStyle(document.activeElement).outlineStyle]"
    )
    assert focused[2] != "none", focused
