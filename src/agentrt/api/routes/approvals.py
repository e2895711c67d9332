from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from sqlalchemy import select

from agentrt.api.deps import CurrentCaller, DbSession, State, get_scoped
from agentrt.api.schemas import ApprovalDecision, ApprovalPublic
from agentrt.runtime.approvals import Decision
from agentrt.store.models import Approval

router = APIRouter(prefix="/approvals", tags=["approvals"])


@router.get("", response_model=list[ApprovalPublic])
async def list_approvals(
    db: DbSession,
    caller: CurrentCaller,
    status: Annotated[Literal["pending", "approved", "rejected", "expired"] | None, Query()] = None,
    run_id: Annotated[str | None, Query()] = None,
) -> Any:
    query = select(Approval).where(Approval.org_id == caller.org_id)
    if status:
        query = query.where(Approval.status == status)
    if run_id:
        query = query.where(Approval.run_id == run_id)
    return (await db.scalars(query.order_by(Approval.created_at))).all()


@router.get("/{approval_id}", response_model=ApprovalPublic)
async def get_approval(approval_id: str, db: DbSession, caller: CurrentCaller) -> Any:
    return await get_scoped(db, Approval, approval_id, caller.org_id, what="approval")


@router.post(
    "/{approval_id}",
    response_model=ApprovalPublic,
    summary="Approve or reject; the run resumes and streams on under GET /v1/runs/{run_id}/events",
)
async def decide(approval_id: str, body: ApprovalDecision, caller: CurrentCaller, app: State) -> Any:
    decision = Decision(approval_id=approval_id, decision=body.decision, comment=body.comment)
    return await app.runs.decide(caller.org_id, approval_id, decision, caller.user)
