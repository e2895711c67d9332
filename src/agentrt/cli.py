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


@app.command("models")
def models(
    json_output: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    timeout: float = typer.Option(3.0, min=0.1, help="Seconds each probe may take."),
) -> None:
    """List the model providers and endpoints configured here, and whether each answers.

    Built-ins (scripted, openai and anthropic from the environment, local) and the
    endpoints of the models file ($AGENTRT_MODELS_FILE or ./agentrt-models.toml). Each is
    probed cheaply (GET /models); keys are never printed, only the variables holding them.
    """
    import asyncio
    import json

    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from agentrt.llm._resolve import default_model
    from agentrt.llm.endpoints import model_sources, probe_sources

    sources, file_problem = model_sources()
    asyncio.run(probe_sources(sources, seconds=timeout))
    if json_output:
        body = {
            "default_model": default_model(),
            "models_file_error": file_problem,
            "providers": [source.to_dict() for source in sources],
        }
        typer.echo(json.dumps(body, indent=2))
        raise typer.Exit(1 if file_problem else 0)
    console = Console()
    table = Table()
    for column in ("name", "type", "base URL", "key", "models", "status"):
        table.add_column(column, overflow="fold", no_wrap=column in ("name", "type"))
    styles = {"ok": "green", "error": "red", "not configured": "dim"}
    for source in sources:
        key = "-" if source.key_env is None else f"{source.key_env} ({'set' if source.key_set else 'unset'})"
        status = Text(source.status, style=styles[source.status])
        if source.detail:
            status.append(f": {source.detail}")
        # Text cells, not markup: server messages may hold brackets.
        cells = (source.name, source.type, source.base_url or "-", key, source.models_text() or "-")
        table.add_row(*(Text(cell) for cell in cells), status)
    console.print(table)
    files = sorted({source.origin for source in sources if source.endpoint is not None})
    for path in files:
        console.print(f"endpoints from {path}", markup=False, highlight=False)
    console.print(f"default model: {default_model()}", markup=False, highlight=False)
    if file_problem:
        Console(stderr=True).print(file_problem, style="red", markup=False)
        raise typer.Exit(1)


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
