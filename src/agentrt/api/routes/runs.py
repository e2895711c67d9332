from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from sse_starlette.sse import EventSourceResponse

from agentrt.api.deps import CurrentCaller, DbSession, State, get_scoped
from agentrt.api.routes.sessions import SSE_RESPONSE
from agentrt.api.schemas import RunPublic
from agentrt.api.sse import event_stream
from agentrt.service.errors import UnprocessableError
from agentrt.store.models import Run

router = APIRouter(prefix="/runs", tags=["runs"])


def _public(run: Run) -> RunPublic:
    public = RunPublic.model_validate(run)
    if run.finished_at is not None:
        public.duration_ms = round((run.finished_at - run.started_at).total_seconds() * 1000, 3)
    return public


@router.get("/{run_id}", response_model=RunPublic)
async def get_run(run_id: str, db: DbSession, caller: CurrentCaller) -> Any:
    return _public(await get_scoped(db, Run, run_id, caller.org_id, what="run"))


@router.get(
    "/{run_id}/events",
    response_class=EventSourceResponse,
    responses=SSE_RESPONSE,
    summary="The run's events after Last-Event-ID, live until the run ends",
)
async def run_events(
    run_id: str,
    db: DbSession,
    caller: CurrentCaller,
    app: State,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    last_event_id_query: Annotated[str | None, Query(alias="lastEventId")] = None,
) -> Any:
    await get_scoped(db, Run, run_id, caller.org_id, what="run")
    raw = last_event_id if last_event_id is not None else last_event_id_query
    try:
        after = int(raw) if raw not in (None, "") else 0
    except ValueError:
        raise UnprocessableError(f"Last-Event-ID must be an event's seq (an integer), got {raw!r}") from None
    if after < 0:
        raise UnprocessableError("Last-Event-ID must not be negative")
    await db.close()  # the stream may last long: hold no connection through it
    return event_stream(app.events.follow(run_id, after), ping_seconds=app.settings.sse_ping_seconds)


@router.post("/{run_id}/cancel", response_model=RunPublic)
async def cancel_run(run_id: str, db: DbSession, caller: CurrentCaller, app: State) -> Any:
    run = await get_scoped(db, Run, run_id, caller.org_id, what="run")
    await app.runs.cancel(run)
    await db.refresh(run)
    return _public(run)
