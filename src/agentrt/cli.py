"""The ``agentrt`` command: ``serve``, ``chat``, ``run``."""

from __future__ import annotations

import os
import sys

import typer

app = typer.Typer(help="agentrt: a self-hostable agent runtime platform.", no_args_is_help=True, add_completion=False)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    log_level: str = typer.Option("info", help="uvicorn log level."),
) -> None:
    """Serve the HTTP API (embedded defaults: SQLite under ./data, in-process runs)."""
    import uvicorn

    from agentrt.api.app import create_app

    uvicorn.run(create_app(), host=host, port=port, log_level=log_level, timeout_graceful_shutdown=5)


@app.command()
def run(serve_mode: bool = typer.Option(False, "--serve", help="Persistent mode: one request per stdin line.")) -> None:
    """The process protocol (same as ``python -m agentrt.runtime``)."""
    from agentrt.runtime.process import main as process_main

    raise typer.Exit(process_main(["--serve"] if serve_mode else []))


@app.command()
def chat(
    url: str = typer.Option("http://127.0.0.1:8000", envvar="AGENTRT_URL", help="The server."),
    api_key: str = typer.Option(..., envvar="AGENTRT_API_KEY", help="Your API key."),
    agent: str | None = typer.Option(None, help="Agent id (default: pick from a list)."),
    session: str | None = typer.Option(None, help="Resume this session."),
) -> None:
    """Chat with an agent in the terminal, approvals included."""
    from agentrt.client.terminal import run_terminal_chat

    raise typer.Exit(run_terminal_chat(url, api_key, agent_id=agent, session_id=session))


org_app = typer.Typer(help="Organisations (run on the server's machine: it opens the database directly).")
app.add_typer(org_app, name="org")


@org_app.command("create")
def org_create(
    name: str = typer.Argument(..., help="The organisation's name."),
    admin_email: str = typer.Option("admin@localhost", help="Its first admin's email."),
    api_key: str | None = typer.Option(None, help="Use this admin API key instead of generating one."),
) -> None:
    """Create an organisation with an admin user, an API key (printed once) and a demo agent."""
    import asyncio
    import json

    from agentrt.config import get_settings
    from agentrt.service.auth import create_organization
    from agentrt.store.db import Database

    async def create() -> dict[str, str]:
        db = Database(get_settings().resolved_database_url())
        try:
            await db.migrate()
            async with db.session() as session:
                made = await create_organization(session, name, admin_email=admin_email, admin_api_key=api_key)
            return {
                "org_id": made.org_id,
                "admin_user_id": made.admin_user_id,
                "api_key": made.api_key or "",
                "demo_agent_id": made.demo_agent_id,
            }
        finally:
            await db.dispose()

    typer.echo(json.dumps(asyncio.run(create())))


def main() -> None:
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(app())


if __name__ == "__main__":
    main()
