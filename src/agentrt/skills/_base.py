"""What a skill is to the runtime: a named, schema-typed, awaitable function."""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from agentrt.context import RuntimeSessionContext

EmitFn = Callable[[Any, dict[str, Any]], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class StepContext:
    """What a running step may know about where it runs."""

    run_id: str
    step_id: str
    runtime_context: RuntimeSessionContext
    emit: EmitFn | None = None
    """Adds an event to the run's log (e.g. a delegated sub-run's events, nested)."""

    @property
    def org_id(self) -> str:
        return self.runtime_context.org_id

    @property
    def user_id(self) -> str:
        return self.runtime_context.user_id

    @property
    def session_id(self) -> str:
        return self.runtime_context.session_id


@runtime_checkable
class Skill(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def input_schema(self) -> dict[str, Any]: ...
    @property
    def output_description(self) -> str: ...
    @property
    def destructive(self) -> bool: ...
    @property
    def version(self) -> str: ...

    async def run(self, args: dict[str, Any], ctx: StepContext) -> Any: ...


SkillFunction = Callable[..., Any]
"""``fn(args)`` or ``fn(args, ctx)``, sync or async."""


@functools.lru_cache(maxsize=4096)
def _takes_context(fn: SkillFunction) -> bool:
    return len(inspect.signature(fn).parameters) >= 2


@dataclass(frozen=True)
class FunctionSkill:
    """A skill backed by a plain function; sync functions run in a worker thread."""

    name: str
    description: str
    fn: SkillFunction
    input_schema: dict[str, Any] = field(default_factory=lambda: {"type": "object"})
    output_description: str = "the skill's result"
    destructive: bool = False
    version: str = "0.0.0"
    blocking: bool = True
    """A sync function runs in a worker thread unless it is known to return at once."""

    async def run(self, args: dict[str, Any], ctx: StepContext) -> Any:
        call_args = (args, ctx) if _takes_context(self.fn) else (args,)
        if inspect.iscoroutinefunction(self.fn):
            return await self.fn(*call_args)
        if not self.blocking:
            return self.fn(*call_args)
        result = await asyncio.to_thread(self.fn, *call_args)
        if inspect.isawaitable(result):
            return await result
        return result


def skill(
    name: str,
    description: str,
    *,
    input_schema: dict[str, Any] | None = None,
    output_description: str = "the skill's result",
    destructive: bool = False,
    version: str = "0.0.0",
    blocking: bool = True,
) -> Callable[[SkillFunction], FunctionSkill]:
    """Decorator turning a function into a ``FunctionSkill``."""

    def wrap(fn: SkillFunction) -> FunctionSkill:
        return FunctionSkill(
            name=name,
            description=description,
            fn=fn,
            input_schema=input_schema or {"type": "object"},
            output_description=output_description,
            destructive=destructive,
            version=version,
            blocking=blocking,
        )

    return wrap


AsyncSkillFunction = Callable[[dict[str, Any], StepContext], Awaitable[Any]]
