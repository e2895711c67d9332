"""``/v1/api-keys``: API keys. A member sees and manages their own keys, an admin every key of the
organisation. Only a key's hash is stored: its clear text is in the creation's answer, once."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentrt.api.deps import Caller, CurrentCaller, DbSession, get_scoped
from agentrt.api.schemas_admin import ApiKeyCreate, ApiKeyCreated, ApiKeyPublic, PathId
from agentrt.service.auth import create_api_key
from agentrt.service.errors import ForbiddenError
from agentrt.store.models import ApiKey, User, utcnow

router = APIRouter(prefix="/api-keys", tags=["api-keys"])


async def _own_key(db: AsyncSession, key_id: str, caller: Caller) -> ApiKey:
    key = await get_scoped(db, ApiKey, key_id, caller.org_id, what="API key")
    if not caller.is_admin and key.user_id != caller.user.id:
        raise ForbiddenError("members manage only their own API keys")
    return key


@router.get("", response_model=list[ApiKeyPublic])
async def list_api_keys(db: DbSession, caller: CurrentCaller) -> Any:
    """The caller's keys (a member) or every key of the organisation (an admin), revoked ones included."""
    query = select(ApiKey).where(ApiKey.org_id == caller.org_id)
    if not caller.is_admin:
        query = query.where(ApiKey.user_id == caller.user.id)
    return (await db.scalars(query.order_by(ApiKey.created_at))).all()


@router.post("", response_model=ApiKeyCreated, status_code=status.HTTP_201_CREATED)
async def create_key(body: ApiKeyCreate, db: DbSession, caller: CurrentCaller) -> Any:
    """A new key for the caller, or (an admin) for a user of the organisation: the answer's ``key`` is the
    only time its clear text is shown."""
    user = caller.user
    if body.user_id is not None and body.user_id != caller.user.id:
        user = await get_scoped(db, User, body.user_id, caller.org_id, what="user")
        if not caller.is_admin:
            raise ForbiddenError("members create API keys only for themselves")
    row, plaintext = await create_api_key(db, user, body.name)
    await db.commit()
    return ApiKeyCreated(**ApiKeyPublic.model_validate(row).model_dump(), key=plaintext)


@router.get("/{key_id}", response_model=ApiKeyPublic)
async def get_api_key(key_id: PathId, db: DbSession, caller: CurrentCaller) -> Any:
    return await _own_key(db, key_id, caller)


@router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_api_key(key_id: PathId, db: DbSession, caller: CurrentCaller) -> None:
    """Revoke a key: from now on it answers 401. Revoking a revoked key changes nothing."""
    key = await _own_key(db, key_id, caller)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        await db.commit()
