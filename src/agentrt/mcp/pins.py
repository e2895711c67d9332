"""Pinned tool definitions: the hash of each MCP tool's definition as first seen.

A server may change what a tool says it does (its description, its schema) at any time —
the "rug pull" that turns a harmless tool into an exfiltration prompt. A tool whose
definition no longer matches its pin is withheld until an admin accepts the change.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

try:  # POSIX: a lock file keeps two processes from losing each other's pins
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


@runtime_checkable
class ToolPinStore(Protocol):
    async def get(self, org_id: str, server_id: str, tool_name: str) -> str | None: ...

    async def put(
        self, org_id: str, server_id: str, tool_name: str, digest: str, definition: dict[str, Any] | None = None
    ) -> None:
        """Pin ``digest``; ``definition`` (the tool as listed) is kept where the store can."""
        ...


def definition_digest(
    name: str, description: str | None, input_schema: dict[str, Any], annotations: dict[str, Any] | None
) -> str:
    """sha256 of (name, description, inputSchema, annotations) in canonical JSON."""
    canonical = json.dumps(
        {"name": name, "description": description, "inputSchema": input_schema, "annotations": annotations},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


class InMemoryPinStore:
    """Pins that live as long as the process: for tests and single-process setups."""

    def __init__(self) -> None:
        self.pins: dict[tuple[str, str, str], str] = {}

    async def get(self, org_id: str, server_id: str, tool_name: str) -> str | None:
        return self.pins.get((org_id, server_id, tool_name))

    async def put(
        self, org_id: str, server_id: str, tool_name: str, digest: str, definition: dict[str, Any] | None = None
    ) -> None:
        self.pins[(org_id, server_id, tool_name)] = digest


class JsonFilePinStore:
    """Pins in one JSON file, shared by every process that points at it.

    ``{"version": 1, "pins": {org_id: {server_id: {tool_name: {"sha256", "pinned_at"}}}}}``.
    Reads follow the file when another process changed it; writes re-read, merge and
    replace the file atomically, under a lock file.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._pins: dict[str, Any] = {}
        self._seen: tuple[int, int] | None = None
        self._lock = asyncio.Lock()

    async def get(self, org_id: str, server_id: str, tool_name: str) -> str | None:
        async with self._lock:
            self._refresh()
            entry = self._pins.get(org_id, {}).get(server_id, {}).get(tool_name)
        return entry.get("sha256") if isinstance(entry, dict) else None

    async def put(
        self, org_id: str, server_id: str, tool_name: str, digest: str, definition: dict[str, Any] | None = None
    ) -> None:
        async with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._file_lock():
                self._seen = None
                self._refresh()
                servers = self._pins.setdefault(org_id, {})
                tools = servers.setdefault(server_id, {})
                tools[tool_name] = {"sha256": digest, "pinned_at": time.time()}
                self._write()

    def _refresh(self) -> None:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._pins, self._seen = {}, None
            return
        seen = (stat.st_mtime_ns, stat.st_size)
        if seen == self._seen:
            return
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        pins = data.get("pins") if isinstance(data, dict) else None
        self._pins = pins if isinstance(pins, dict) else {}
        self._seen = seen

    def _write(self) -> None:
        payload = json.dumps({"version": 1, "pins": self._pins}, indent=2, sort_keys=True)
        fd, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(payload)
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        stat = self.path.stat()
        self._seen = (stat.st_mtime_ns, stat.st_size)

    @contextlib.contextmanager
    def _file_lock(self) -> Iterator[None]:
        if fcntl is None:  # pragma: no cover
            yield
            return
        with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
