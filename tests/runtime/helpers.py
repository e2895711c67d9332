"""Test capabilities with observable side effects."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

from agentrt.skills import FunctionSkill, SkillRegistry, StepContext


class Recorder:
    """Counts calls per capability and records when each ran."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.args: list[tuple[str, dict[str, Any]]] = []
        self.spans: dict[str, tuple[float, float]] = {}

    def skill(
        self,
        name: str,
        *,
        sleep: float = 0.0,
        fail: bool = False,
        destructive: bool = False,
        schema: dict[str, Any] | None = None,
    ) -> FunctionSkill:
        async def run(args: dict[str, Any], ctx: StepContext) -> Any:
            self.calls[name] += 1
            self.args.append((name, args))
            start = time.perf_counter()
            if sleep:
                await asyncio.sleep(sleep)
            self.spans[ctx.step_id] = (start, time.perf_counter())
            if fail:
                raise RuntimeError(f"{name} broke")
            return {"ok": True, "name": name, "args": args}

        return FunctionSkill(
            name=name,
            description=f"test capability {name}",
            fn=run,
            input_schema=schema or {"type": "object"},
            destructive=destructive,
        )

    def registry(self, *skills: FunctionSkill) -> SkillRegistry:
        registry = SkillRegistry.with_builtins()
        for item in skills:
            registry.register(item, builtin=True)
        return registry


def overlaps(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] < b[1] and b[0] < a[1]
