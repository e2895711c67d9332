from __future__ import annotations

import asyncio
import mimetypes
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel
from sqlalchemy import select
from sse_starlette.sse import EventSourceResponse

from agentrt.api.deps import CurrentCaller, DbSession, State, apply_update, get_scoped
from agentrt.api.errors import ERROR_RESPONSES
from agentrt.api.schemas import ChatRequest, MessagePublic, MessageTree, SessionCreate, SessionPublic, SessionUpdate
from agentrt.api.sse import event_stream
from agentrt.service.errors import NotFoundError, PayloadTooLargeError
from agentrt.service.messages import branch_to, session_messages
from agentrt.service.runs import ACTIVE_STATUSES
from agentrt.store.models import Agent, ChatSession, Run
from agentrt.tools.workspace import WorkspacePathError

router = APIRouter(prefix="/sessions", tags=["sessions"])

SSE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The run's events as Server-Sent Events",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    },
    413: ERROR_RESPONSES[422] | {"description": "Message longer than MAX_MESSAGE_LENGTH"},
}


async def _public(db: DbSession, chat: ChatSession) -> SessionPublic:
    active = await db.scalar(select(Run.id).where(Run.session_id == chat.id, Run.status.in_(ACTIVE_STATUSES)))
    public = SessionPublic.model_validate(chat)
    public.active_run_id = active
    return public


@router.post("", response_model=SessionPublic, status_code=status.HTTP_201_CREATED)
async def create_session(body: SessionCreate, db: DbSession, caller: CurrentCaller) -> Any:
    await get_scoped(db, Agent, body.agent_id, caller.org_id, what="agent")
    chat = ChatSession(org_id=caller.org_id, user_id=caller.user.id, agent_id=body.agent_id, title=body.title)
    db.add(chat)
    await db.commit()
    return await _public(db, chat)


@router.get("", response_model=list[SessionPublic])
async def list_sessions(db: DbSession, caller: CurrentCaller, agent_id: Annotated[str | None, Query()] = None) -> Any:
    query = select(ChatSession).where(ChatSession.org_id == caller.org_id)
    if agent_id:
        query = query.where(ChatSession.agent_id == agent_id)
    chats = (await db.scalars(query.order_by(ChatSession.updated_at.desc()))).all()
    return [await _public(db, chat) for chat in chats]


@router.get("/{session_id}", response_model=SessionPublic)
async def get_session(session_id: str, db: DbSession, caller: CurrentCaller) -> Any:
    return await _public(db, await get_scoped(db, ChatSession, session_id, caller.org_id, what="session"))


@router.patch("/{session_id}", response_model=SessionPublic)
async def update_session(session_id: str, body: SessionUpdate, db: DbSession, caller: CurrentCaller) -> Any:
    chat = await get_scoped(db, ChatSession, session_id, caller.org_id, what="session")
    apply_update(chat, body.model_dump(exclude_unset=True))
    await db.commit()
    return await _public(db, chat)


@router.delete("/{session_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_session(session_id: str, db: DbSession, caller: CurrentCaller) -> None:
    chat = await get_scoped(db, ChatSession, session_id, caller.org_id, what="session")
    await db.delete(chat)
    await db.commit()


@router.get("/{session_id}/messages", response_model=MessageTree)
async def list_messages(
    session_id: str,
    db: DbSession,
    caller: CurrentCaller,
    leaf_id: Annotated[str | None, Query(description="End of the branch to read")] = None,
) -> Any:
    await get_scoped(db, ChatSession, session_id, caller.org_id, what="session")
    messages = await session_messages(db, session_id)
    children: dict[str, list[str]] = {}
    for message in messages:
        if message.parent_id:
            children.setdefault(message.parent_id, []).append(message.id)
    public = [MessagePublic.model_validate(m).model_copy(update={"children": children.get(m.id, [])}) for m in messages]
    leaf = leaf_id or (messages[-1].id if messages else None)
    return MessageTree(messages=public, branch=[m.id for m in branch_to(messages, leaf)])


@router.post(
    "/{session_id}/messages",
    response_class=EventSourceResponse,
    responses=SSE_RESPONSE,
    summary="Chat: send a message and stream the run's events",
)
async def chat(session_id: str, body: ChatRequest, db: DbSession, caller: CurrentCaller, app: State) -> Any:
    limit = app.settings.max_message_length
    if len(body.message) > limit:
        raise PayloadTooLargeError(
            f"message is {len(body.message)} characters; the limit is {limit}",
            details={"length": len(body.message), "limit": limit},
        )
    chat_session = await get_scoped(db, ChatSession, session_id, caller.org_id, what="session")
    await db.close()  # the stream may last long: hold no connection through it
    at_root = "parent_message_id" in body.model_fields_set and body.parent_message_id is None
    run = await app.runs.start_chat(caller.user, chat_session, body.message, body.parent_message_id, at_root=at_root)
    return event_stream(app.events.follow(run.id), ping_seconds=app.settings.sse_ping_seconds)


class WorkspaceFilePublic(BaseModel):
    path: str
    size: int
    modified_at: datetime


MAX_DOWNLOAD_BYTES = 50 * 1024 * 1024


@router.get(
    "/{session_id}/workspace",
    response_model=list[WorkspaceFilePublic],
    summary="Files in the session's workspace (written by the sandboxed tools)",
)
async def list_workspace(session_id: str, db: DbSession, caller: CurrentCaller, app: State) -> Any:
    await get_scoped(db, ChatSession, session_id, caller.org_id, what="session")
    try:
        workspace = app.workspaces.for_session(caller.org_id, session_id, create=False)
    except WorkspacePathError:
        return []
    files = await asyncio.to_thread(workspace.list_files)
    return [
        WorkspaceFilePublic(path=f.path, size=f.size, modified_at=datetime.fromtimestamp(f.mtime, UTC)) for f in files
    ]


@router.get(
    "/{session_id}/workspace/files/{path:path}",
    response_class=Response,
    responses={200: {"description": "The file's bytes", "content": {"application/octet-stream": {}}}},
    summary="Download a file of the session's workspace",
)
async def download_workspace_file(
    session_id: str, path: str, db: DbSession, caller: CurrentCaller, app: State
) -> Response:
    await get_scoped(db, ChatSession, session_id, caller.org_id, what="session")
    try:
        workspace = app.workspaces.for_session(caller.org_id, session_id, create=False)
    except WorkspacePathError:
        raise NotFoundError(f"no file {path!r} in this session's workspace") from None
    data = await asyncio.to_thread(workspace.read_bytes, path, MAX_DOWNLOAD_BYTES)
    media_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
    name = path.rsplit("/", 1)[-1].replace('"', "")
    return Response(data, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{name}"'})
