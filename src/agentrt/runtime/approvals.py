"""Approval records for high-risk steps, and checking the decisions that resume a run."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agentrt.errors import ApprovalError
from agentrt.runtime.capabilities import Capability
from agentrt.runtime.state import ApprovalRecord


class Decision(BaseModel):
    """A human's answer to one approval request."""

    model_config = ConfigDict(extra="forbid")

    approval_id: str
    decision: Literal["approve", "reject"]
    comment: str | None = Field(default=None, max_length=4000)
    decided_by: str | None = None


def args_sha256(args: Mapping[str, Any]) -> str:
    canonical = json.dumps(args, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def risk_reason(capability: Capability, high_risk_tools: Iterable[str]) -> str:
    if capability.name in set(high_risk_tools):
        return f"{capability.name} is listed in runtime_policy.high_risk_tools"
    return f"{capability.name} is declared destructive"


def new_approval(
    run_id: str, step_id: str, capability: Capability, args: dict[str, Any], high_risk_tools: Iterable[str]
) -> ApprovalRecord:
    return ApprovalRecord(
        approval_id=f"apr_{uuid.uuid4().hex}",
        run_id=run_id,
        step_id=step_id,
        capability=capability.name,
        args=args,
        args_sha256=args_sha256(args),
        reason=risk_reason(capability, high_risk_tools),
        status="pending",
        comment=None,
        decided_at=None,
    )


def public_approval(record: ApprovalRecord) -> dict[str, Any]:
    """The ``approval_required`` event's data."""
    keys = ("approval_id", "step_id", "capability", "args", "args_sha256", "reason")
    return {key: record.get(key) for key in keys}


def check_decisions(approvals: Mapping[str, ApprovalRecord], decisions: Iterable[Decision]) -> list[Decision]:
    """Refuse an unknown or already decided approval id, or the same id twice."""
    checked: list[Decision] = []
    seen: set[str] = set()
    for decision in decisions:
        record = approvals.get(decision.approval_id)
        if record is None:
            raise ApprovalError(f"unknown approval id {decision.approval_id!r}", code="APPROVAL_NOT_FOUND")
        if record.get("status") != "pending" or decision.approval_id in seen:
            raise ApprovalError(
                f"approval {decision.approval_id!r} was already decided ({record.get('status')})",
                code="APPROVAL_ALREADY_DECIDED",
            )
        seen.add(decision.approval_id)
        checked.append(decision)
    return checked


def apply_decision(record: ApprovalRecord, decision: Decision) -> ApprovalRecord:
    return ApprovalRecord(
        **{
            **record,
            "status": "approved" if decision.decision == "approve" else "rejected",
            "comment": decision.comment,
            "decided_at": time.time(),
        }
    )
