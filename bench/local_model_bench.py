"""The built-in local model: agentrt's provider against raw llama-cpp-python, and plan quality.

    .venv/bin/python bench/local_model_bench.py [--rounds 3] [--only speed,plans] [--json out.json]

1. speed  tokens per second and time to first token streaming through agentrt's
          ``LocalModelProvider.stream_text`` vs raw ``llama_cpp.Llama.create_chat_completion(
          stream=True)`` on the same GGUF file, loaded with the same settings, in the same
          run: the same prompts, greedy, alternating which goes first. Medians; the target is
          agentrt ≥ 0.9x raw on both (for time to first token: raw TTFT / agentrt TTFT).
2. plans  20 fixed requests over the built-in skills (calculator, current_time): the share
          of plans that pass ``validate_plan`` against a ``CapabilityGraph`` built from a
          context, decoded (a) constrained to the per-capability plan schema (numbered step
          ids, the default), (b) the same with free step ids, (c) constrained to the planner's
          generic plan schema (``args: object``), (d) constrained to any JSON object, (e) not
          constrained (the schema in the prompt, the answer parsed/repaired). One plan per
          request and mode, no repair round.

Needs the ``agentrt[local]`` extra. See bench/README.md for the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from agentrt import RuntimeSessionContext
from agentrt.errors import ProviderError
from agentrt.llm import ChatMessage, LLMRequest
from agentrt.llm.local import (
    LocalModelProvider,
    StructuredMode,
    find_default_model,
    llama_settings,
)
from agentrt.runtime.capabilities import CapabilityGraph
from agentrt.runtime.plan_schema import per_capability_plan_schema
from agentrt.runtime.planner import PlannerAgent, PlanningInput, plan_schema
from agentrt.runtime.validation import validate_plan
from agentrt.skills.registry import SkillRegistry

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO.parent / "shared" / "fixtures"

SPEED_PROMPTS = (
    "Explain what a prime number is.",
    "Give three tips for writing clear emails.",
    "Describe the water cycle in a few sentences.",
    "What is the difference between weather and climate?",
    "Write a short paragraph about why people keep cats.",
)

# (request, the capabilities a good plan uses; empty: answer directly)
PLAN_REQUESTS: tuple[tuple[str, frozenset[str]], ...] = tuple(
    (text, frozenset(expected))
    for text, expected in (
        ("What is 17*23?", {"calculator"}),
        ("Compute (1234+4321)/5.", {"calculator"}),
        ("What is the square root of 2 divided by 3?", {"calculator"}),
        ("How much is 15% of 80?", {"calculator"}),
        ("Multiply 12.5 by 8, then add 3.", {"calculator"}),
        ("What is 2 to the power of 10?", {"calculator"}),
        ("Add 19, 23 and 58.", {"calculator"}),
        ("Divide 100 minutes by 60 to get hours.", {"calculator"}),
        ("What time is it in Tokyo?", {"current_time"}),
        ("What is today's date?", {"current_time"}),
        ("Which weekday is it in New York right now?", {"current_time"}),
        ("Tell me the current time in UTC.", {"current_time"}),
        ("Is it morning or evening in Sydney now?", {"current_time"}),
        ("What is the current time in London?", {"current_time"}),
        ("What time is it in Paris, and what is 60*24?", {"calculator", "current_time"}),
        ("How many minutes are in a week? Calculate 7*24*60.", {"calculator"}),
        ("Say hello.", set()),
        ("Write a haiku about the sea.", set()),
        ("What is the capital of France?", set()),
        ("Thanks, that's all!", set()),
    )
)
assert len(PLAN_REQUESTS) == 20


# -- 1. speed -----------------------------------------------------------------------------------


@dataclass
class Sample:
    ttft: float
    """Seconds from the call to the first text chunk."""
    tokens: int
    """Text chunks received (one per token, but for a token that ends mid-character)."""
    decode_tps: float
    """(tokens - 1) / (time of the last chunk - time of the first)."""
    total: float
    text: str


def _sample(started: float, stamps: list[float], texts: list[str]) -> Sample:
    end = stamps[-1] if stamps else time.perf_counter()
    first = stamps[0] if stamps else end
    span = end - first
    return Sample(
        ttft=first - started,
        tokens=len(texts),
        decode_tps=(len(texts) - 1) / span if span > 0 else 0.0,
        total=end - started,
        text="".join(texts),
    )


def raw_stream(llama: Any, prompt: str, max_tokens: int) -> Sample:
    stamps: list[float] = []
    texts: list[str] = []
    started = time.perf_counter()
    for chunk in llama.create_chat_completion(
        messages=[{"role": "system", "content": "You are helpful."}, {"role": "user", "content": prompt}],
        temperature=0.0,
        max_tokens=max_tokens,
        stream=True,
    ):
        text = chunk["choices"][0]["delta"].get("content")
        if text:
            stamps.append(time.perf_counter())
            texts.append(text)
    return _sample(started, stamps, texts)


async def agentrt_stream(provider: LocalModelProvider, prompt: str, max_tokens: int) -> Sample:
    request = LLMRequest(
        messages=(ChatMessage("system", "You are helpful."), ChatMessage("user", prompt)),
        temperature=0.0,
        max_tokens=max_tokens,
    )
    stamps: list[float] = []
    texts: list[str] = []
    started = time.perf_counter()
    async for chunk in provider.stream_text(request):
        if chunk.text:
            stamps.append(time.perf_counter())
            texts.append(chunk.text)
    return _sample(started, stamps, texts)


def _median(samples: list[Sample], field: str) -> float:
    return statistics.median(getattr(s, field) for s in samples)


async def bench_speed(rounds: int, max_tokens: int) -> dict[str, Any]:
    import llama_cpp

    path = find_default_model()
    settings = llama_settings()
    provider = LocalModelProvider("local")
    t0 = time.perf_counter()
    await provider.warm_up()
    agentrt_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    raw = llama_cpp.Llama(model_path=str(path), **settings)
    raw_load = time.perf_counter() - t0
    # Warm both (first-call costs: grammar-free sampler set-up, page faults).
    raw_stream(raw, "Hi.", 8)
    await agentrt_stream(provider, "Hi.", 8)

    results: dict[str, list[Sample]] = {"raw": [], "agentrt": []}
    for index in range(rounds):
        for number, prompt in enumerate(SPEED_PROMPTS):
            order = ("raw", "agentrt") if (index + number) % 2 == 0 else ("agentrt", "raw")
            pair: dict[str, Sample] = {}
            for who in order:
                if who == "raw":
                    pair[who] = raw_stream(raw, prompt, max_tokens)
                else:
                    pair[who] = await agentrt_stream(provider, prompt, max_tokens)
                results[who].append(pair[who])
            if pair["raw"].text != pair["agentrt"].text:
                raise SystemExit(
                    f"raw and agentrt answered {prompt!r} differently: the comparison is not like for like"
                )
    summary: dict[str, Any] = {
        "model": str(path),
        "settings": settings,
        "prompts": len(SPEED_PROMPTS),
        "rounds": rounds,
        "max_tokens": max_tokens,
        "load_seconds": {"agentrt": round(agentrt_load, 3), "raw": round(raw_load, 3)},
    }
    for who, samples in results.items():
        summary[who] = {
            "median_ttft_ms": round(_median(samples, "ttft") * 1000, 2),
            "median_decode_tokens_per_s": round(_median(samples, "decode_tps"), 1),
            "median_end_to_end_tokens_per_s": round(statistics.median(s.tokens / s.total for s in samples), 1),
            "median_tokens": statistics.median(s.tokens for s in samples),
        }
    summary["ratio_decode_tps"] = round(
        summary["agentrt"]["median_decode_tokens_per_s"] / summary["raw"]["median_decode_tokens_per_s"], 3
    )
    summary["ratio_ttft"] = round(summary["raw"]["median_ttft_ms"] / summary["agentrt"]["median_ttft_ms"], 3)
    summary["ratio_end_to_end_tps"] = round(
        summary["agentrt"]["median_end_to_end_tokens_per_s"] / summary["raw"]["median_end_to_end_tokens_per_s"], 3
    )
    return summary


# -- 2. plans -----------------------------------------------------------------------------------


def builtin_context() -> RuntimeSessionContext:
    data = json.loads((FIXTURES / "seed-context-minimal.json").read_text())
    data["agent_config"].update({"model": "local", "temperature": 0.2, "max_tokens": 256})
    return RuntimeSessionContext.model_validate(data)


@dataclass
class PlanOutcome:
    request: str
    mode: str
    valid: bool
    expected: bool
    """Valid, and uses exactly the expected capabilities (none: an empty plan)."""
    exact: bool
    """Expected, with one step per expected capability (no repeated steps)."""
    steps: int
    seconds: float
    errors: list[str]
    plan: Any


MODES: dict[str, tuple[StructuredMode, Callable[[CapabilityGraph, int], dict[str, Any]]]] = {
    "per_capability_schema": ("schema", lambda g, n: per_capability_plan_schema(g.describe(), max_steps=n)),
    "per_capability_free_ids": (
        "schema",
        lambda g, n: per_capability_plan_schema(g.describe(), max_steps=n, numbered=False),
    ),
    "generic_plan_schema": ("schema", lambda g, n: plan_schema(g.names(), n)),
    "any_json": ("json", lambda g, n: plan_schema(g.names(), n)),
    "unconstrained": ("none", lambda g, n: plan_schema(g.names(), n)),
}


async def bench_plans(modes: list[str]) -> dict[str, Any]:
    ctx = builtin_context()
    graph = CapabilityGraph.from_context(ctx, SkillRegistry.with_builtins())
    policy = ctx.runtime_policy
    config = ctx.agent_config
    outcomes: list[PlanOutcome] = []
    for mode in modes:
        structured, make_schema = MODES[mode]
        provider = LocalModelProvider("local", structured=structured)
        planner = PlannerAgent(provider, graph, ctx)
        schema = make_schema(graph, policy.max_iterations)
        for text, expected in PLAN_REQUESTS:
            request = LLMRequest(
                messages=planner.messages(PlanningInput(user_message=text)),
                temperature=config.temperature,
                max_tokens=config.max_tokens,
                response_schema=schema,
                schema_name="plan",
            )
            started = time.perf_counter()
            try:
                raw: Any = (await provider.generate_structured(request)).data
            except ProviderError as exc:
                raw, errors, valid = None, [exc.reason], False
            else:
                checked = validate_plan(raw, graph, policy)
                errors, valid = checked.errors, checked.ok
            steps = [step for step in (raw or {}).get("steps") or [] if isinstance(step, dict)]
            used = {step.get("capability") for step in steps}
            outcomes.append(
                PlanOutcome(
                    request=text,
                    mode=mode,
                    valid=valid,
                    expected=valid and used == expected,
                    exact=valid and used == expected and len(steps) == len(expected),
                    steps=len(steps),
                    seconds=time.perf_counter() - started,
                    errors=errors,
                    plan=raw,
                )
            )
            mark = "valid" if valid else "INVALID"
            print(f"  [{mode}] {mark:7} {text!r}: {json.dumps(raw)[:150]}", file=sys.stderr)
    summary: dict[str, Any] = {"requests": len(PLAN_REQUESTS), "capabilities": graph.names(), "modes": {}}
    for mode in modes:
        mine = [o for o in outcomes if o.mode == mode]
        summary["modes"][mode] = {
            "valid": sum(o.valid for o in mine),
            "valid_share": round(sum(o.valid for o in mine) / len(mine), 2),
            "expected_capabilities": sum(o.expected for o in mine),
            "exact": sum(o.exact for o in mine),
            "non_empty_valid": sum(o.valid and bool((o.plan or {}).get("steps")) for o in mine),
            "median_steps": statistics.median(o.steps for o in mine),
            "median_seconds": round(statistics.median(o.seconds for o in mine), 2),
        }
    summary["outcomes"] = [asdict(o) for o in outcomes]
    return summary


# -- main ---------------------------------------------------------------------------------------


def _rows(summary: dict[str, Any]) -> Iterator[str]:
    if "speed" in summary:
        s = summary["speed"]
        yield f"speed ({s['prompts']} prompts x {s['rounds']} rounds, max_tokens={s['max_tokens']}, greedy)"
        yield f"  {'':8} {'TTFT ms':>9} {'decode tok/s':>13} {'end-to-end tok/s':>17} {'tokens':>7}"
        for who in ("raw", "agentrt"):
            r = s[who]
            yield (
                f"  {who:8} {r['median_ttft_ms']:>9} {r['median_decode_tokens_per_s']:>13} "
                f"{r['median_end_to_end_tokens_per_s']:>17} {r['median_tokens']:>7}"
            )
        yield (
            f"  agentrt/raw: decode {s['ratio_decode_tps']}x, TTFT {s['ratio_ttft']}x, "
            f"end-to-end {s['ratio_end_to_end_tps']}x (target >= 0.9x)"
        )
        yield f"  load: agentrt {s['load_seconds']['agentrt']} s, raw {s['load_seconds']['raw']} s"
    if "plans" in summary:
        p = summary["plans"]
        yield f"plans ({p['requests']} requests over {', '.join(p['capabilities'])})"
        for mode, m in p["modes"].items():
            yield (
                f"  {mode:22} valid {m['valid']:>2}/{p['requests']} ({m['valid_share']:.0%}), "
                f"right capabilities {m['expected_capabilities']:>2} (exactly {m['exact']:>2}), "
                f"median {m['median_steps']} steps, {m['median_seconds']} s"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="rounds over the 5 speed prompts (default 3)")
    parser.add_argument("--max-tokens", type=int, default=128, help="tokens per speed answer (default 128)")
    parser.add_argument("--only", default="speed,plans", help="speed, plans or both (default)")
    parser.add_argument("--modes", default=",".join(MODES), help=f"plan modes (default all: {', '.join(MODES)})")
    parser.add_argument("--json", type=Path, help="also write the results (with every plan) here")
    args = parser.parse_args()
    only = {part.strip() for part in args.only.split(",") if part.strip()}
    summary: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "llama_cpp_python": version("llama-cpp-python"),
        },
    }
    if "speed" in only:
        summary["speed"] = asyncio.run(bench_speed(args.rounds, args.max_tokens))
    if "plans" in only:
        summary["plans"] = asyncio.run(bench_plans([m.strip() for m in args.modes.split(",") if m.strip()]))
    for row in _rows(summary):
        print(row)
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2, default=str))


if __name__ == "__main__":
    main()
