"""End-to-end tests of the web console in headless Chromium (Debian's, not a downloaded one).

One real ``agentrt serve`` (SQLite) for these tests, reached through a proxy that serves it
under ``/agentrt/``; one browser; a fresh browser context (its own sessionStorage) per test.
The fixtures are package-scoped: Playwright's sync API holds the thread's asyncio loop while it
runs, so it must end before the asyncio tests of the other packages. Screenshots go to a
temporary directory (printed at the end); with
``AGENTRT_CONSOLE_SCREENSHOT=docs/console.png`` the README's screenshot is refreshed too.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.server import Api, Server
from tests.console.proxy import Proxy

playwright_sync = pytest.importorskip("playwright.sync_api", reason="the console tests need playwright (dev extra)")

CHROMIUM = os.environ.get("AGENTRT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
README_SHOT = "chat-plan"
"""The screenshot copied to docs/console.png when AGENTRT_CONSOLE_SCREENSHOT is set."""

_shot_paths: dict[str, Path] = {}


@pytest.fixture(scope="package")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("console-server")
    server = Server(f"sqlite+aiosqlite:///{data_dir / 'agentrt.sqlite'}", data_dir)
    yield server.start()
    server.stop()


@pytest.fixture(scope="package")
def proxy(console_server: Server) -> Iterator[Proxy]:
    running = Proxy(console_server.port).start()
    yield running
    running.stop()


@pytest.fixture
def api(console_server: Server) -> Iterator[Api]:
    client = console_server.client()
    yield client
    client.http.close()


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with playwright_sync.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture(scope="package")
def shots_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    directory = tmp_path_factory.mktemp("console-screenshots")
    yield directory
    target = os.environ.get("AGENTRT_CONSOLE_SCREENSHOT")
    if target and README_SHOT in _shot_paths:
        shutil.copyfile(_shot_paths[README_SHOT], target)
    print(f"\nconsole screenshots: {directory}")


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 820}, device_scale_factor=1)
    yield ctx
    ctx.close()


class ConsolePage:
    """A browser page on the console, with helpers the tests share."""

    def __init__(self, page: Any, base: str, key: str, shots: Path, test: str) -> None:
        self.page = page
        self.base = base
        self.key = key
        self.shots = shots
        self.test = test
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.set_default_timeout(15_000)

    def shot(self, name: str, *, full_page: bool = False) -> Path:
        path = self.shots / f"{self.test}-{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        _shot_paths[name] = path
        return path

    def open(self, hash_path: str = "/chat") -> None:
        self.page.goto(f"{self.base}#{hash_path}")

    def sign_in(self, hash_path: str = "/chat") -> None:
        self.open(hash_path)
        self.page.fill("#api-key", self.key)
        self.page.click("form button[type=submit]")
        self.page.wait_for_selector(".topbar")

    def open_chat(self, session_id: str) -> None:
        self.page.evaluate("id => { location.hash = '/chat/' + id }", session_id)
        self.page.wait_for_selector(f".sessions a[data-session='{session_id}'].current")
        self.page.wait_for_selector("#composer-input")

    def send(self, text: str) -> None:
        box = self.page.locator("#composer-input")
        box.fill(text)
        box.press("Enter")

    def answers(self) -> list[str]:
        return [t for t in self.page.locator(".msg.assistant .bubble").all_inner_texts()]

    def wait_answer(self, text: str, timeout: float = 15_000) -> None:
        self.page.wait_for_function(
            "text => [...document.querySelectorAll('.msg.assistant:not(.active) > .bubble')]"
            ".some(b => b.textContent === text)",
            arg=text,
            timeout=timeout,
        )

    def wait_idle(self) -> None:
        """No run going on in the chat on screen (the Send button is back)."""
        self.page.wait_for_selector(".composer button.send")


@pytest.fixture
def console(
    context: Any, proxy: Proxy, console_server: Server, shots_dir: Path, request: pytest.FixtureRequest
) -> Iterator[ConsolePage]:
    page = context.new_page()
    console_page = ConsolePage(page, proxy.url, console_server.admin_key, shots_dir, request.node.name)
    yield console_page
    assert not console_page.errors, console_page.errors


@pytest.fixture
def make_agent(api: Api) -> Callable[..., dict[str, Any]]:
    def make(script: list[Any], **fields: Any) -> dict[str, Any]:
        return api.agent(script, **fields)

    return make
