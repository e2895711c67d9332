"""Runs on the server: start a chat turn, stream it to the event log, pause for approval,
resume on a decision, cancel, and recover after a restart.

A run goes on whether or not anybody watches it; its events are the log, not a socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from agentrt.context import RuntimeSessionContext
from agentrt.errors import AgentrtError, ApprovalError, SkillError
from agentrt.events import RunEvent
from agentrt.runtime.approvals import Decision
from agentrt.runtime.capabilities import DelegateFn, DelegationTarget
from agentrt.runtime.runner import AgentRuntime, RunResult, result_from_state
from agentrt.runtime.state import new_run_id
from agentrt.service.context_builder import build_runtime_context
from agentrt.service.errors import ConflictError, NotFoundError, UnprocessableError
from agentrt.service.event_log import EventLog, stream_error
from agentrt.service.mcp import McpService
from agentrt.service.memory import StoreMemory, remember_skill
from agentrt.service.messages import as_conversation, branch_to, session_messages
from agentrt.skills._base import StepContext
from agentrt.skills.builtin import BUILTIN_SKILLS
from agentrt.skills.registry import SkillRegistry
from agentrt.store.db import Database
from agentrt.store.models import Agent, Approval, ChatSession, Message, Run, Skill, User
from agentrt.tools.package_skill import PackageSkill
from agentrt.tools.sandbox import Sandbox
from agentrt.tools.workspace import Workspaces

log = logging.getLogger(__name__)

ACTIVE_STATUSES = ("running", "awaiting_approval")
TERMINAL_STATUSES = ("completed", "failed", "cancelled")
INTERRUPTED = {"code": "RUN_INTERRUPTED", "message": "the server stopped while this run was going"}


def _now() -> datetime:
    return datetime.now(UTC)


def _ts(seconds: float | None) -> datetime | None:
    return datetime.fromtimestamp(seconds, UTC) if seconds else None


class RunManager:
    def __init__(
        self,
        db: Database,
        events: EventLog,
        runtime: AgentRuntime,
        registry: SkillRegistry | None = None,
        mcp: McpService | None = None,
        sandbox: Sandbox | None = None,
        workspaces: Workspaces | None = None,
    ) -> None:
        self.mcp = mcp
        self.sandbox = sandbox
        self.workspaces = workspaces
        self.db = db
        self.events = events
        self.runtime = runtime
        self.registry = registry or SkillRegistry(
            [*BUILTIN_SKILLS, remember_skill(db)], builtin_names=[s.name for s in BUILTIN_SKILLS] + ["remember"]
        )
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._seq: dict[str, int] = {}
        self._session_locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._run_locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._closing = False

    # --- events ----------------------------------------------------------------------
    def sink_for(self, run: Run, *, nested: bool = False) -> Callable[[RunEvent], Awaitable[None]]:
        """The sink of a run's events; a ``nested`` (delegated) run's answer is no chat message."""

        async def sink(event: RunEvent) -> None:
            # What an event announces is in the store before the event is: a client that
            # reads the run or the messages after seeing it finds them.
            if event["type"] == "error" and event["data"].get("code") != "SSE_STREAM_ERROR":
                cause = event["data"]
                await self._set(run.id, status="failed", error=cause, finished_at=_now())
                event = {**event, "data": stream_error(cause.get("message", "run failed"), cause)}
            elif event["type"] == "message" and not nested:
                await self._store_answer(run, str(event["data"].get("content", "")))
            elif event["type"] == "approval_required":
                await self._store_approval(run, event["data"])
            elif event["type"] == "approval_resolved" and event["data"].get("decision") == "expired":
                await self._expire_approvals(run.id, [event["data"]["approval_id"]])
            self._seq[run.id] = event["seq"]
            await self.events.append(event)

        return sink

    async def emit(self, run: Run, type: Any, data: dict[str, Any]) -> None:
        seq = self._seq.get(run.id)
        if seq is None:
            seq = await self.events.last_seq(run.id)
        await self.sink_for(run)({"type": type, "seq": seq + 1, "run_id": run.id, "data": data})

    async def _store_answer(self, run: Run, content: str) -> None:
        async with self.db.session() as session, session.begin():
            message = Message(
                org_id=run.org_id,
                session_id=run.session_id,
                parent_id=run.user_message_id,
                role="assistant",
                content=content,
                run_id=run.id,
            )
            session.add(message)
            await session.flush()
            await session.execute(update(Run).where(Run.id == run.id).values(assistant_message_id=message.id))
        run.assistant_message_id = message.id

    async def _store_approval(self, run: Run, data: dict[str, Any]) -> None:
        async with self.db.session() as session, session.begin():
            session.add(
                Approval(
                    id=data["approval_id"],
                    org_id=run.org_id,
                    run_id=run.id,
                    session_id=run.session_id,
                    step_id=data["step_id"],
                    capability=data["capability"],
                    args=data["args"],
                    args_sha256=data["args_sha256"],
                    reason=data.get("reason") or "",
                    status="pending",
                )
            )

    async def _expire_approvals(self, run_id: str, ids: list[str] | None = None) -> None:
        query = update(Approval).where(Approval.run_id == run_id, Approval.status == "pending")
        if ids is not None:
            query = query.where(Approval.id.in_(ids))
        async with self.db.session() as session, session.begin():
            await session.execute(query.values(status="expired", decided_at=_now()))

    # --- starting a turn ---------------------------------------------------------------
    async def start_chat(
        self, user: User, chat: ChatSession, message: str, parent_id: str | None, *, at_root: bool = False
    ) -> Run:
        async with self._session_locks[chat.id], self.db.session() as session, session.begin():
            busy = await session.scalar(
                select(Run.id).where(Run.session_id == chat.id, Run.status.in_(ACTIVE_STATUSES)).limit(1)
            )
            if busy:
                raise ConflictError(
                    f"session {chat.id} already has an active run ({busy})",
                    code="SESSION_BUSY",
                    details={"run_id": busy},
                )
            agent = await session.scalar(select(Agent).where(Agent.id == chat.agent_id, Agent.org_id == chat.org_id))
            if agent is None:
                raise NotFoundError(f"the session's agent {chat.agent_id} no longer exists")
            messages = await session_messages(session, chat.id)
            if parent_id is None and messages and not at_root:
                parent_id = messages[-1].id
            elif parent_id is not None and parent_id not in {m.id for m in messages}:
                raise UnprocessableError(
                    f"parent_message_id {parent_id} is not a message of this session",
                    details={"field": "parent_message_id"},
                )
            run_id = new_run_id()
            context = await build_runtime_context(
                session, agent, user_id=user.id, session_id=chat.id, metadata={"run_id": run_id}
            )
            conversation = as_conversation(branch_to(messages, parent_id))
            user_message = Message(
                org_id=chat.org_id,
                session_id=chat.id,
                parent_id=parent_id,
                role="user",
                content=message,
                run_id=run_id,
            )
            session.add(user_message)
            await session.flush()
            run = Run(
                id=run_id,
                org_id=chat.org_id,
                session_id=chat.id,
                agent_id=agent.id,
                user_id=user.id,
                user_message_id=user_message.id,
                status="running",
                context=context.model_dump(mode="json"),
            )
            session.add(run)
            await session.execute(update(ChatSession).where(ChatSession.id == chat.id).values(updated_at=_now()))
        self._seq[run.id] = 0
        try:
            await self.emit(run, "thinking", {"content": "Starting agent runtime…"})
            services = await self._services(run, conversation)
        except BaseException as exc:
            # The run row exists: never leave it 'running' with nothing driving it.
            await self._end(run, "failed", {"code": "INTERNAL_ERROR", "message": f"the run could not start: {exc!r}"})
            raise
        self._spawn(
            run,
            lambda sink: self.runtime.start(
                context, message, sink=sink, run_id=run.id, emit_done=False, last_seq=1, services=services
            ),
        )
        return run

    async def _services(self, run: Run, conversation: Any = ()) -> dict[str, Any]:
        async with self.db.session() as session:
            others = (
                await session.execute(
                    select(Agent.id, Agent.name, Agent.description).where(
                        Agent.org_id == run.org_id, Agent.id != run.agent_id
                    )
                )
            ).all()
        return {
            "skill_registry": await self._registry_for(run),
            "memory_system": StoreMemory(self.db, conversation),
            "agents": [DelegationTarget(a.id, a.name, a.description or "") for a in others],
            "delegate": self._delegate_for(run),
            "capability_sources": [self.mcp.capabilities] if self.mcp is not None else [],
        }

    async def _registry_for(self, run: Run) -> SkillRegistry:
        """The server's skills plus the code packages this run's agent binds, in their bound versions."""
        ids = [skill.get("id") for skill in (run.context or {}).get("available_skills", [])]
        if not ids or self.sandbox is None or self.workspaces is None:
            return self.registry
        async with self.db.session() as session:
            rows = (
                await session.scalars(
                    select(Skill).where(Skill.org_id == run.org_id, Skill.id.in_(ids), Skill.source == "package")
                )
            ).all()
        packages = [
            PackageSkill(
                name=row.name,
                description=row.description or row.name,
                version=row.version,
                root=Path(row.config["path"]),
                entry_point=row.config["entry_point"],
                sandbox=self.sandbox,
                workspaces=self.workspaces,
                input_schema=row.input_schema or {"type": "object"},
                output_description=row.config.get("output_description") or "the skill's result",
                destructive=bool(row.config.get("destructive")),
            )
            for row in rows
            if (row.config or {}).get("kind") == "code" and row.config.get("path") and row.config.get("entry_point")
        ]
        return self.registry.extended(packages) if packages else self.registry

    # --- delegation --------------------------------------------------------------------
    def _delegate_for(self, parent: Run) -> DelegateFn:
        """Runs a delegated step as a child run of ``parent``, its events nested in the parent's log."""

        async def delegate(target: DelegationTarget, task: str, ctx: StepContext) -> dict[str, Any]:
            meta = ctx.runtime_context.metadata
            child_id = new_run_id()
            async with self.db.session() as session, session.begin():
                agent = await session.scalar(
                    select(Agent).where(Agent.id == target.agent_id, Agent.org_id == parent.org_id)
                )
                if agent is None:
                    raise SkillError(f"agent {target.agent_id} no longer exists")
                context = await build_runtime_context(
                    session,
                    agent,
                    user_id=parent.user_id,
                    session_id=parent.session_id,
                    metadata={
                        "run_id": child_id,
                        "delegation_chain": [*meta.get("delegation_chain", []), ctx.runtime_context.agent_id],
                        "delegation_depth": int(meta.get("delegation_depth", 0)) + 1,
                        "parent_run_id": parent.id,
                        "parent_step_id": ctx.step_id,
                    },
                )
                child = Run(
                    id=child_id,
                    org_id=parent.org_id,
                    session_id=parent.session_id,
                    agent_id=agent.id,
                    user_id=parent.user_id,
                    status="running",
                    context=context.model_dump(mode="json"),
                    parent_run_id=parent.id,
                    parent_step_id=ctx.step_id,
                )
                session.add(child)
            nested = {"step_id": ctx.step_id, "child_run_id": child_id, "agent_id": agent.id}
            child_sink = self.sink_for(child, nested=True)

            async def sink(event: RunEvent) -> None:
                await child_sink(event)
                if ctx.emit is not None:
                    await ctx.emit("delegation", {**nested, "event": event})

            if ctx.emit is not None:
                await ctx.emit("delegation", {**nested, "task": task})
            try:
                result = await self.runtime.start(
                    context, task, sink=sink, run_id=child_id, services=await self._services(child)
                )
            except asyncio.CancelledError:
                await self._end(child, "cancelled", {"code": "RUN_CANCELLED", "message": "the parent run stopped"})
                raise
            except AgentrtError as exc:
                await self._end(child, "failed", exc.to_dict())
                raise SkillError(f"the sub-agent {agent.name!r} failed: {exc.message}") from None
            await self._set(
                child_id,
                status=result.status,
                usage=result.usage,
                error=result.error,
                finished_at=_now() if result.status in TERMINAL_STATUSES else None,
            )
            if result.status == "completed":
                return {"answer": result.answer, "agent_id": agent.id, "run_id": child_id}
            if result.status == "awaiting_approval":
                waiting = ", ".join(a["capability"] for a in result.pending_approvals)
                await self._end(
                    child,
                    "cancelled",
                    {"code": "APPROVAL_NOT_INHERITED", "message": f"the sub-agent needed approval for {waiting}"},
                )
                raise SkillError(
                    f"the sub-agent {agent.name!r} needed approval for {waiting}; approvals are not inherited "
                    "across delegation, so the sub-task was stopped"
                )
            error = (result.error or {}).get("message", "it failed")
            raise SkillError(f"the sub-agent {agent.name!r} failed: {error}")

        return delegate

    def _spawn(self, run: Run, work: Callable[[Any], Awaitable[RunResult]]) -> None:
        task = asyncio.create_task(self._drive(run, work), name=f"run-{run.id}")
        self._tasks[run.id] = task
        task.add_done_callback(lambda _t: self._tasks.pop(run.id, None))

    async def _drive(self, run: Run, work: Callable[[Any], Awaitable[RunResult]]) -> None:
        async with self._run_locks[run.id]:
            try:
                await self._set(run.id, status="running")
                result = await work(self.sink_for(run))
            except asyncio.CancelledError:
                if self._closing:
                    await self._end(run, "failed", INTERRUPTED)
                else:
                    await self._end(run, "cancelled", {"code": "RUN_CANCELLED", "message": "the run was cancelled"})
                return
            except AgentrtError as exc:
                await self._end(run, "failed", exc.to_dict())
                return
            except Exception as exc:
                log.exception("run %s crashed", run.id)
                await self._end(run, "failed", {"code": "INTERNAL_ERROR", "message": f"the run crashed: {exc!r}"})
                return
            # A cancel arriving now must not cut the bookkeeping in half: let it complete,
            # then cancel() looks at the status it left.
            finishing = asyncio.ensure_future(self._finish(run, result))
            try:
                await asyncio.shield(finishing)
            except asyncio.CancelledError:
                await finishing
                raise

    async def _end(self, run: Run, status: str, cause: dict[str, Any]) -> None:
        await asyncio.shield(self._end_now(run, status, cause))

    async def _end_now(self, run: Run, status: str, cause: dict[str, Any]) -> None:
        await self._expire_approvals(run.id)
        await self._set(run.id, status=status, error=cause, finished_at=_now())
        await self.emit(run, "error", stream_error(cause["message"], cause))

    async def _finish(self, run: Run, result: RunResult) -> None:
        values: dict[str, Any] = {"status": result.status, "usage": result.usage, "error": result.error}
        if result.status in TERMINAL_STATUSES:
            values["finished_at"] = _now()
        await self._set(run.id, **values)
        if result.status == "completed":
            await self.emit(
                run, "done", {"sessionId": run.session_id, "runId": run.id, "messageId": run.assistant_message_id}
            )

    async def _set(self, run_id: str, **values: Any) -> None:
        async with self.db.session() as session, session.begin():
            await session.execute(update(Run).where(Run.id == run_id).values(**values))

    # --- approvals ---------------------------------------------------------------------
    async def decide(self, org_id: str, approval_id: str, decision: Decision, user: User) -> Approval:
        status = "approved" if decision.decision == "approve" else "rejected"
        async with self.db.session() as session, session.begin():
            approval = await session.scalar(
                select(Approval).where(Approval.id == approval_id, Approval.org_id == org_id)
            )
            if approval is None:
                raise NotFoundError(f"no approval {approval_id}")
            changed = await session.execute(
                update(Approval)
                .where(Approval.id == approval_id, Approval.status == "pending")
                .values(status=status, decided_by=user.id, decided_at=_now(), comment=decision.comment)
            )
            if changed.rowcount == 0:  # type: ignore[attr-defined]
                raise ConflictError(
                    f"approval {approval_id} was already decided ({approval.status})", code="APPROVAL_ALREADY_DECIDED"
                )
            run = await session.scalar(select(Run).where(Run.id == approval.run_id))
        assert run is not None
        approval.status, approval.decided_by, approval.comment = status, user.id, decision.comment
        approval.decided_at = _now()
        self.schedule_resume(run, [decision.model_copy(update={"decided_by": user.id})])
        return approval

    def schedule_resume(self, run: Run, decisions: list[Decision]) -> None:
        context = RuntimeSessionContext.model_validate(run.context)

        async def work(sink: Any) -> RunResult:
            try:
                return await self.runtime.resume(
                    context, run.id, decisions, sink=sink, emit_done=False, services=await self._services(run)
                )
            except ApprovalError:
                # The plan moved on (another decision was applied first): nothing to resume.
                await self._expire_approvals(run.id, [d.approval_id for d in decisions])
                state = await self.runtime.state(run.id, context)
                return result_from_state(state, interrupted=bool(state.get("__interrupted__")))

        previous = self._tasks.get(run.id)

        async def chained(sink: Any) -> RunResult:
            if previous is not None:
                with contextlib.suppress(BaseException):
                    await asyncio.shield(previous)
            return await work(sink)

        self._spawn(run, chained)

    # --- cancel and recovery -----------------------------------------------------------
    async def cancel(self, run: Run) -> None:
        if run.status in TERMINAL_STATUSES:
            raise ConflictError(f"run {run.id} already ended ({run.status})", code="RUN_NOT_ACTIVE")
        task = self._tasks.get(run.id)
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        # The task may have ended on its own just before (completed, or paused for approval).
        async with self.db.session() as session:
            status = await session.scalar(select(Run.status).where(Run.id == run.id))
        if status in ACTIVE_STATUSES:
            await self._end(run, "cancelled", {"code": "RUN_CANCELLED", "message": "the run was cancelled"})

    async def recover(self) -> int:
        """After a restart: a run left ``running`` ends ``failed`` with an ``error`` event;
        a run awaiting approval stays so, and decisions recorded but not applied are applied."""
        async with self.db.session() as session:
            stale = (await session.scalars(select(Run).where(Run.status == "running"))).all()
            waiting = (await session.scalars(select(Run).where(Run.status == "awaiting_approval"))).all()
        for run in stale:
            await self._end(run, "failed", INTERRUPTED)
        for run in waiting:
            async with self.db.session() as session:
                decided = (
                    await session.scalars(
                        select(Approval).where(Approval.run_id == run.id, Approval.status.in_(("approved", "rejected")))
                    )
                ).all()
            try:
                state = await self.runtime.state(run.id, RuntimeSessionContext.model_validate(run.context))
            except AgentrtError:
                continue
            pending = {a["approval_id"] for a in state.get("approvals", {}).values() if a.get("status") == "pending"}
            decisions = [
                Decision(
                    approval_id=a.id,
                    decision="approve" if a.status == "approved" else "reject",
                    comment=a.comment,
                    decided_by=a.decided_by,
                )
                for a in decided
                if a.id in pending
            ]
            if decisions:
                self.schedule_resume(run, decisions)
        return len(stale)

    async def close(self) -> None:
        """Stop: runs still going end ``failed`` (``RUN_INTERRUPTED``); paused runs stay paused."""
        self._closing = True
        for task in list(self._tasks.values()):
            task.cancel()
        for task in list(self._tasks.values()):
            with contextlib.suppress(BaseException):
                await task
