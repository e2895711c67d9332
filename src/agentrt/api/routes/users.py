"""``/v1/users``: the organisation's users. Every member may list and read them; admins manage them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from agentrt.api.deps import AdminCaller, CurrentCaller, DbSession, apply_update, get_scoped
from agentrt.api.schemas_admin import PathId, UserCreate, UserPublic, UserUpdate
from agentrt.service.errors import ConflictError
from agentrt.store.models import User

router = APIRouter(prefix="/users", tags=["users"])


def _exists(email: str) -> ConflictError:
    return ConflictError(
        f"a user with the email {email} already exists in this organisation",
        code="USER_EXISTS",
        details={"field": "email"},
    )


@router.get("", response_model=list[UserPublic])
async def list_users(db: DbSession, caller: CurrentCaller) -> Any:
    return (await db.scalars(select(User).where(User.org_id == caller.org_id).order_by(User.created_at))).all()


@router.post("", response_model=UserPublic, status_code=status.HTTP_201_CREATED)
async def create_user(body: UserCreate, db: DbSession, caller: AdminCaller) -> Any:
    taken = await db.scalar(select(User.id).where(User.org_id == caller.org_id, func.lower(User.email) == body.email))
    if taken is not None:
        raise _exists(body.email)
    user = User(org_id=caller.org_id, email=body.email, name=body.name, role=body.role)
    db.add(user)
    try:
        await db.commit()
    except IntegrityError:  # a concurrent create of the same email
        await db.rollback()
        raise _exists(body.email) from None
    return user


@router.get("/{user_id}", response_model=UserPublic)
async def get_user(user_id: PathId, db: DbSession, caller: CurrentCaller) -> Any:
    return await get_scoped(db, User, user_id, caller.org_id, what="user")


async def _admins(db: AsyncSession, org_id: str) -> int:
    return int(await db.scalar(select(func.count()).where(User.org_id == org_id, User.role == "admin")) or 0)


@router.patch("/{user_id}", response_model=UserPublic)
async def update_user(user_id: PathId, body: UserUpdate, db: DbSession, caller: AdminCaller) -> Any:
    user = await get_scoped(db, User, user_id, caller.org_id, what="user")
    changes = body.model_dump(exclude_unset=True)
    if changes.get("role") == "member" and user.role == "admin" and await _admins(db, caller.org_id) <= 1:
        raise ConflictError("the organisation's last admin cannot become a member", code="LAST_ADMIN")
    apply_update(user, changes)
    await db.commit()
    await db.refresh(user)
    return user


@router.delete("/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_user(user_id: PathId, db: DbSession, caller: AdminCaller) -> None:
    """Delete a user, with their API keys and chat sessions."""
    user = await get_scoped(db, User, user_id, caller.org_id, what="user")
    if user.id == caller.user.id:
        raise ConflictError("you cannot delete yourself", code="CANNOT_DELETE_SELF")
    await db.delete(user)
    await db.commit()
