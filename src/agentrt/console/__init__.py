"""The web console: a page served at ``/`` that talks to the public ``/v1`` API only.

No build step: ``index.html`` and the ES modules under ``static/`` ship inside the package
(the vendored Preact, htm, signals and SSE parser are listed with their versions and
hashes in ``static/vendor/vendor.json``). Every URL the page uses is relative, so the
console also works under a URL prefix behind a reverse proxy.
"""

from __future__ import annotations

import base64
import hashlib
import mimetypes
import re
from pathlib import Path

from fastapi import FastAPI
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

CONSOLE_DIR = Path(__file__).parent
STATIC_DIR = CONSOLE_DIR / "static"
INDEX_HTML = CONSOLE_DIR / "index.html"
STATIC_PATH = "/console"
"""Where the page's own files are served (``index.html`` refers to them relatively)."""

_INLINE_SCRIPT = re.compile(r"<script(?: [^>]*)?>(.*?)</script>", re.DOTALL)

NO_SNIFF = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


def content_security_policy(html: str) -> str:
    """Only this origin's files; inline scripts (the import map) by their hash."""
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()}'"
        for body in _INLINE_SCRIPT.findall(html)
        if body.strip()
    )
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src 'self' {hashes}".strip(),
            "style-src 'self'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


class ConsoleFiles(StaticFiles):
    """The console's static files, revalidated on every load (ETag) and never sniffed."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(NO_SNIFF)
        response.headers["Cache-Control"] = "no-cache"
        return response


def mount_console(app: FastAPI) -> None:
    """Serve the console at ``/`` and its files under ``/console/``."""
    mimetypes.add_type("text/javascript", ".mjs")
    mimetypes.add_type("text/javascript", ".js")
    html = INDEX_HTML.read_text(encoding="utf-8")
    headers = {
        **NO_SNIFF,
        "Content-Security-Policy": content_security_policy(html),
        "Cache-Control": "no-cache",
        "X-Frame-Options": "DENY",
    }

    @app.get("/", include_in_schema=False)
    async def console_index() -> HTMLResponse:
        return HTMLResponse(html, headers=headers)

    app.mount(STATIC_PATH, ConsoleFiles(directory=STATIC_DIR), name="console")
