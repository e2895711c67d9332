"""The console's files as `agentrt serve` serves them: the page, its modules, the vendored
libraries (byte-identical to the recorded npm files) and the headers that keep it safe."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import httpx
import pytest

from agentrt.console import INDEX_HTML, STATIC_DIR, content_security_policy
from tests.api.server import Server

pytestmark = pytest.mark.console

VENDOR = json.loads((STATIC_DIR / "vendor" / "vendor.json").read_text())


def sri(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def test_the_page_is_served_at_the_root_with_a_strict_policy(console_server: Server) -> None:
    page = httpx.get(f"{console_server.url}/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert policy == content_security_policy(page.text)
    assert "script-src 'self' 'sha256-" in policy and "unsafe-inline" not in policy
    assert "connect-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    # every URL of the page is relative: it works under a prefix
    assert not re.search(r'(?:src|href)="/', page.text)
    # not part of the API's contract
    assert "/" not in httpx.get(f"{console_server.url}/openapi.json").json()["paths"]


def test_modules_and_styles_have_their_types(console_server: Server) -> None:
    for path, kind in [
        ("/console/app.js", "text/javascript"),
        ("/console/lib/runs.js", "text/javascript"),
        ("/console/vendor/preact/preact.mjs", "text/javascript"),
        ("/console/style.css", "text/css"),
        ("/console/icon.svg", "image/svg+xml"),
    ]:
        response = httpx.get(f"{console_server.url}{path}")
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith(kind), (path, response.headers["content-type"])
        assert response.headers["x-content-type-options"] == "nosniff"
    assert httpx.get(f"{console_server.url}/console/nope.js").status_code == 404


def test_vendored_files_match_their_recorded_hashes_and_the_import_map() -> None:
    html = INDEX_HTML.read_text()
    import_map = json.loads(re.search(r'<script type="importmap">(.*?)</script>', html, re.DOTALL).group(1))
    total = 0
    for module in VENDOR["modules"]:
        data = (STATIC_DIR / "vendor" / module["file"]).read_bytes()
        total += len(data)
        assert len(data) == module["bytes"], module["file"]
        assert sri(data) == module["integrity"], module["file"]
        url = f"./console/vendor/{module['file']}"
        assert import_map["imports"][module["specifier"]] == url
        assert import_map["integrity"][url] == module["integrity"]
        assert module["tarball_integrity"].startswith("sha512-")
        assert (STATIC_DIR / "vendor" / Path(module["file"]).parent / "LICENSE").exists()
    assert total < 40_000  # Preact, hooks, htm, signals and the SSE parser stay small
