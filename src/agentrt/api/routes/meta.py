from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from agentrt.api.deps import CurrentCaller

router = APIRouter(tags=["meta"])


class Me(BaseModel):
    user_id: str
    org_id: str
    email: str
    name: str | None
    role: str
    api_key_id: str


@router.get("/me", response_model=Me)
async def me(caller: CurrentCaller) -> Any:
    return Me(
        user_id=caller.user.id,
        org_id=caller.org_id,
        email=caller.user.email,
        name=caller.user.name,
        role=caller.user.role,
        api_key_id=caller.key.id,
    )
