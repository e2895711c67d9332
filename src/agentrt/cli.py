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


def main() -> None:
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(app())
