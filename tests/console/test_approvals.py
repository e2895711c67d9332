"""Approving and rejecting high-risk steps: on the card in the chat, and in the organisation's
list of pending approvals, where deciding resumes a run that no page is watching."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.server import Api
from tests.console.conftest import ConsolePage

pytestmark = pytest.mark.console

RISKY = {"runtime_policy": {"high_risk_tools": ["calculator"]}, "skills": ["calculator"]}


def calc(step: str, expression: str) -> dict[str, Any]:
    return {"steps": [{"id": step, "capability": "calculator", "args": {"expression": expression}, "depends_on": []}]}


def test_approve_on_the_card_in_the_chat(console: ConsolePage, api: Api) -> None:
    agent = api.agent([calc("c", "2+2"), "It is 4."], name="Careful", **RISKY)
    chat = api.session(agent["id"])
    page = console.page
    console.sign_in()
    console.open_chat(chat["id"])
    console.send("What is 2+2? Ask first.")

    card = page.locator(".msg.active article.approval.pending")
    card.wait_for()
    text = card.inner_text()
    assert "calculator" in text and '"expression": "2+2"' in text
    assert "calculator is listed in runtime_policy.high_risk_tools" in text
    assert page.locator(".msg.active .step[data-step='c']").get_attribute("data-status") == "approval"
    card.locator("textarea").fill("fine by me")
    console.shot("approval-card")
    card.locator("button.approve").click()

    console.wait_answer("It is 4.")
    done = page.locator(".msg.assistant").last
    assert done.locator(".step[data-step='c']").get_attribute("data-status") == "done"
    assert "fine by me" in done.locator(".approval-note.approved").inner_text()
    [approval] = api.ok("GET", "/v1/approvals", params={"run_id": chat_run(api, chat["id"])})
    assert (approval["status"], approval["comment"]) == ("approved", "fine by me")


def test_reject_from_the_pending_list_resumes_the_run(console: ConsolePage, api: Api) -> None:
    agent = api.agent(
        [calc("x", "9**9**9"), {"steps": []}, "I did not compute it: it was rejected."], name="Bold", **RISKY
    )
    chat = api.session(agent["id"])
    page = console.page
    console.sign_in()
    console.open_chat(chat["id"])
    console.send("Compute 9**9**9")
    page.locator(".msg.active article.approval.pending").wait_for()

    # to the list of pending approvals: the chat's stream is closed, the run waits on the server
    page.click(".mainnav >> text=Approvals")
    card = page.locator(".approvals-page article.approval", has_text="9**9**9")
    card.filter(has_text="Bold").wait_for()  # labelled with its agent
    card.locator("textarea").fill("far too big")
    console.shot("approvals-list")
    card.locator("button.reject").click()
    page.locator(".approvals-page .decided article.approval.rejected").wait_for()
    page.locator(".approvals-page >> text=Nothing is waiting for approval.").wait_for()

    # back in the chat, the run went on without anybody watching it
    page.click(".decided a >> text=Open the chat")
    console.wait_answer("I did not compute it: it was rejected.")
    last = page.locator(".msg.assistant").last
    rejected = last.locator(".step[data-step='x'][data-status='failed']")
    rejected.wait_for()  # what happened while no page watched is read from the run's log
    rejected.locator(".step-head").click()
    assert "rejected" in rejected.locator(".step-detail").inner_text()
    assert "far too big" in rejected.locator(".step-detail").inner_text()
    console.shot("rejected")


def chat_run(api: Api, session_id: str) -> str:
    tree = api.ok("GET", f"/v1/sessions/{session_id}/messages")
    return str(tree["messages"][-1]["run_id"])
