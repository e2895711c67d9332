"""``agentrt chat``: a terminal client (placeholder until it lands)."""

from __future__ import annotations


def run_terminal_chat(url: str, api_key: str, *, agent_id: str | None, session_id: str | None) -> int:
    raise NotImplementedError
