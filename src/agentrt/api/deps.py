"""Request dependencies: the database session, the caller, the services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from agentrt.config import Settings
from agentrt.service.auth import authenticate
from agentrt.service.errors import ForbiddenError, NotFoundError, UnauthorizedError
from agentrt.service.event_log import EventLog
from agentrt.service.mcp import McpService
from agentrt.service.runs import RunManager
from agentrt.service.secrets import SecretBox
from agentrt.store.db import Database
from agentrt.store.models import ApiKey, User, utcnow
from agentrt.tools import Sandbox, Workspaces

LAST_USED_RESOLUTION_SECONDS = 60
"""A key's ``last_used_at`` is written at most once a minute (not a write per request)."""
bearer = HTTPBearer(auto_error=False, description="An agentrt API key: `Authorization: Bearer agrt_…`")
Row = TypeVar("Row")


@dataclass
class AppState:
    settings: Settings
    db: Database
    events: EventLog
    runs: RunManager
    secrets: SecretBox
    workspaces: Workspaces
    sandbox: Sandbox
    mcp: McpService


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.agentrt
    return state


async def db_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with app_state(request).db.session() as session:
        yield session


DbSession = Annotated[AsyncSession, Depends(db_session)]
State = Annotated[AppState, Depends(app_state)]


@dataclass
class Caller:
    user: User
    key: ApiKey

    @property
    def org_id(self) -> str:
        return self.user.org_id

    @property
    def is_admin(self) -> bool:
        return self.user.role == "admin"


async def current_caller(
    db: DbSession, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Caller:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise UnauthorizedError("missing API key: send 'Authorization: Bearer <key>'")
    found = await authenticate(db, credentials.credentials)
    if found is None:
        raise UnauthorizedError("invalid or revoked API key")
    key, user = found
    now = utcnow()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > LAST_USED_RESOLUTION_SECONDS:
        await db.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))
    await db.commit()  # end the read transaction: the connection goes back to the pool
    return Caller(user=user, key=key)


CurrentCaller = Annotated[Caller, Depends(current_caller)]


async def admin_caller(caller: CurrentCaller) -> Caller:
    if not caller.is_admin:
        raise ForbiddenError("this needs the admin role")
    return caller


AdminCaller = Annotated[Caller, Depends(admin_caller)]


async def get_scoped(db: AsyncSession, model: type[Row], row_id: str, org_id: str, *, what: str | None = None) -> Row:
    """A row of the caller's organisation; another organisation's id is as missing as a missing one."""
    query: Any = select(model).where(model.id == row_id, model.org_id == org_id)  # type: ignore[attr-defined]
    row: Row | None = await db.scalar(query)
    if row is None:
        raise NotFoundError(f"no {what or model.__tablename__.rstrip('s')} {row_id}")  # type: ignore[attr-defined]
    return row


def apply_update(row: Any, changes: dict[str, Any], *, renames: dict[str, str] | None = None) -> None:
    for field, value in changes.items():
        setattr(row, (renames or {}).get(field, field), value)


async def ensure_unique_name(
    db: AsyncSession, model: Any, org_id: str, name: str, conflict: Exception, *, exclude_id: str | None = None
) -> None:
    """Raise ``conflict`` if another row of ``model`` in the organisation has this name."""
    query = select(model.id).where(model.org_id == org_id, model.name == name)
    if exclude_id is not None:
        query = query.where(model.id != exclude_id)
    if await db.scalar(query) is not None:
        raise conflict


async def commit_or_conflict(db: AsyncSession, conflict: Exception) -> None:
    """Commit; a unique constraint hit by a concurrent write becomes ``conflict``."""
    try:
        await db.commit()
    except IntegrityError:
        await db.rollback()
        raise conflict from None
