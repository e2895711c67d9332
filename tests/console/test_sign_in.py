"""Signing in: a wrong key is refused plainly; the key stays in sessionStorage, never in a URL."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.server import Server
from tests.console.conftest import ConsolePage
from tests.console.proxy import Proxy

pytestmark = pytest.mark.console


def test_a_wrong_key_is_refused_and_the_right_one_kept_for_the_tab_only(
    console: ConsolePage, console_server: Server, context: Any, proxy: Proxy
) -> None:
    page = console.page
    urls: list[str] = []
    page.on("request", lambda r: urls.append(r.url))
    # straight at `agentrt serve`, at /
    page.goto(f"{console_server.url}/")
    page.fill("#api-key", "agrt_not_a_real_key")
    page.keyboard.press("Enter")
    refusal = page.locator("#signin-error")
    refusal.filter(has_text="refused").wait_for()
    assert "wrong, or it has been revoked" in refusal.inner_text()
    assert page.get_attribute("#api-key", "aria-invalid") == "true"
    assert page.evaluate("sessionStorage.getItem('agentrt.apiKey')") is None
    console.shot("wrong-key")

    page.fill("#api-key", console_server.admin_key)
    page.keyboard.press("Enter")
    page.wait_for_selector(".topbar .who >> text=admin@localhost")
    assert page.evaluate("sessionStorage.getItem('agentrt.apiKey')") == console_server.admin_key
    assert page.evaluate("localStorage.length") == 0
    assert not [u for u in urls if console_server.admin_key in u or "agrt_not_a_real_key" in u]

    # a refresh keeps the tab signed in; another tab (a new context) is not
    page.reload()
    page.wait_for_selector(".topbar .who >> text=admin@localhost")
    other = context.browser.new_context().new_page()
    other.goto(f"{console_server.url}/")
    other.wait_for_selector("#api-key")
    other.context.close()

    page.click("text=Sign out")
    page.wait_for_selector("#api-key")
    assert page.evaluate("sessionStorage.getItem('agentrt.apiKey')") is None
