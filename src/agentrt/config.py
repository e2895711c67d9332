"""Settings, from the environment (and a ``.env`` file if present).

Every setting has an embedded default, so ``agentrt serve`` runs with none set.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_MAX_MESSAGE_LENGTH = 32_000


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AGENTRT_", env_file=".env", extra="ignore")

    data_dir: Path = Path("./data")
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "AGENTRT_DATABASE_URL")
    )
    """``sqlite+aiosqlite:///…`` (default: ``<data_dir>/agentrt.sqlite``) or ``postgresql+psycopg://…``."""
    admin_api_key: str | None = None
    """Used as the first admin's API key on first start, instead of a generated one."""
    max_message_length: int = Field(
        default=DEFAULT_MAX_MESSAGE_LENGTH,
        validation_alias=AliasChoices("MAX_MESSAGE_LENGTH", "AGENTRT_MAX_MESSAGE_LENGTH"),
        gt=0,
    )
    secret_key: str | None = None
    skills_dir: Path | None = None
    workspace_dir: Path | None = None
    """Per-session workspaces of the sandboxed tools (default: ``<data_dir>/workspaces``)."""
    event_batch_ms: float = 2.0
    """How long the event writer may gather events before committing them together."""
    sse_ping_seconds: float = 15.0

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'agentrt.sqlite').as_posix()}"

    @field_validator("skills_dir", "workspace_dir", "database_url", "admin_api_key", "secret_key", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    def resolved_workspace_dir(self) -> Path:
        return self.workspace_dir or self.data_dir / "workspaces"

    @property
    def is_postgres(self) -> bool:
        return self.resolved_database_url().startswith("postgresql")


@lru_cache
def get_settings() -> Settings:
    return Settings()
