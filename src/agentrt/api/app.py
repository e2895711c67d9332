"""The FastAPI application: ``create_app(settings)``; its lifespan migrates the database,
bootstraps the first organisation, opens the checkpointer and recovers interrupted runs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, FastAPI, Request

from agentrt import __version__
from agentrt.api.deps import AppState
from agentrt.api.errors import ERROR_RESPONSES, install_error_handlers
from agentrt.api.routes import (
    agents,
    api_keys,
    approvals,
    mcp_servers,
    memories,
    meta,
    runs,
    sessions,
    skills,
    tools,
    users,
)
from agentrt.config import Settings, get_settings
from agentrt.console import mount_console
from agentrt.runtime.runner import AgentRuntime
from agentrt.service.auth import bootstrap
from agentrt.service.checkpoints import open_checkpointer
from agentrt.service.event_log import EventLog
from agentrt.service.mcp import McpService
from agentrt.service.runs import RunManager
from agentrt.service.secrets import SecretBox
from agentrt.store.db import Database
from agentrt.tools import Sandbox, Workspaces, sandboxed_tools

log = logging.getLogger("agentrt")


def api_router() -> APIRouter:
    router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES)
    for module in (meta, agents, sessions, runs, approvals, memories, users, api_keys, skills, tools, mcp_servers):
        router.include_router(module.router)
    return router


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = settings.resolved_database_url()
        db = Database(url)
        await db.migrate()
        async with db.session() as session:
            first = await bootstrap(session, admin_api_key=settings.admin_api_key)
        if first is not None and first.api_key:
            # Shown once: only its hash is stored.
            print(f"agentrt: first start — admin API key (shown once): {first.api_key}", file=sys.stderr, flush=True)
        secrets = SecretBox.from_settings(settings.secret_key, settings.data_dir)
        events = EventLog(db, batch_ms=settings.event_batch_ms)
        await events.start()
        async with open_checkpointer(url) as checkpointer:
            workspaces = Workspaces(settings.resolved_workspace_dir())
            sandbox = Sandbox()
            mcp = McpService(db, secrets)
            manager = RunManager(
                db, events, AgentRuntime(checkpointer), mcp=mcp, sandbox=sandbox, workspaces=workspaces
            )
            for tool in sandboxed_tools(sandbox, workspaces):
                manager.registry.register(tool)
            status = await asyncio.to_thread(sandbox.status)
            if not status.available:
                log.error(
                    "sandbox unavailable, so code_run, shell_exec, file_write and file_read fail: %s", status.reason
                )
            if settings.skills_dir:
                manager.registry.load_dir(settings.skills_dir)
            app.state.agentrt = AppState(
                settings=settings,
                db=db,
                events=events,
                runs=manager,
                secrets=secrets,
                workspaces=workspaces,
                sandbox=sandbox,
                mcp=mcp,
            )
            recovered = await manager.recover()
            if recovered:
                log.warning("%d run(s) interrupted by the last stop were ended as failed", recovered)
            try:
                yield
            finally:
                await manager.close()
                await mcp.close()
                await events.close()
        await db.dispose()

    app = FastAPI(
        title="agentrt",
        version=__version__,
        description="Self-hostable agent runtime platform: agents, chat over SSE, approvals.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.include_router(api_router())
    mount_console(app)

    @app.get("/healthz", tags=["meta"])
    async def healthz(request: Request) -> dict[str, Any]:
        """Liveness, and whether the sandboxed tools can run."""
        state: AppState = request.app.state.agentrt
        return {"status": "ok", "sandbox": state.sandbox.status().to_dict()}

    return app
