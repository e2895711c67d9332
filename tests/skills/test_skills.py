from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agentrt import RuntimeSessionContext, SkillError
from agentrt.skills import SkillRegistry, StepContext, evaluate_expression, load_skill_folder
from tests.conftest import load_seed_context


def step_ctx() -> StepContext:
    return StepContext("run_1", "s1", RuntimeSessionContext.model_validate(load_seed_context()))


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("17*23", 391),
        ("2^10", 1024),
        ("(1+2)*3 - 4/2", 7.0),
        ("sqrt(16) + abs(-2)", 6.0),
        ("-3 // 2", -2),
        ("round(pi, 2)", 3.14),
    ],
)
def test_calculator_evaluates_arithmetic(expression: str, value: float) -> None:
    assert evaluate_expression(expression) == value


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("__import__('os').system('id')", "unsupported element"),
        ("open('/etc/passwd')", "unsupported element"),
        ("(1).__class__", "unsupported element"),
        ("9**9**9", "exponent larger than 1000"),
        ("1/0", "division by zero"),
        ("1 +", "not an arithmetic expression"),
        ("1" * 600, "longer than 500"),
    ],
)
def test_calculator_refuses_anything_else(expression: str, message: str) -> None:
    with pytest.raises(SkillError, match=message):
        evaluate_expression(expression)


async def test_current_time_in_a_timezone() -> None:
    registry = SkillRegistry.with_builtins()
    current_time = registry.get("current_time")
    assert current_time is not None
    out = await current_time.run({"timezone": "Asia/Tokyo"}, step_ctx())
    assert out["timezone"] == "Asia/Tokyo" and out["iso"].endswith("+09:00")
    with pytest.raises(SkillError, match="unknown timezone 'Mars/Base'"):
        await current_time.run({"timezone": "Mars/Base"}, step_ctx())


def write_skill(root: Path, manifest: dict[str, Any], code: str) -> Path:
    folder = root / manifest.get("name", "bad")
    folder.mkdir(parents=True)
    (folder / "skill.json").write_text(json.dumps(manifest))
    (folder / "main.py").write_text(code)
    return folder


async def test_local_skill_loads_and_runs(tmp_path: Path) -> None:
    folder = write_skill(
        tmp_path,
        {
            "name": "word_count",
            "version": "1.2.0",
            "description": "Counts words",
            "input_schema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
            "entry_point": "main.py:run",
        },
        "def run(args, ctx):\n    return {'words': len(args['text'].split()), 'run': ctx.run_id}\n",
    )
    skill = load_skill_folder(folder)
    assert (skill.name, skill.version) == ("word_count", "1.2.0")
    assert await skill.run({"text": "a b c"}, step_ctx()) == {"words": 3, "run": "run_1"}
    registry = SkillRegistry.with_builtins()
    registry.load_dir(tmp_path)
    assert "word_count" in registry


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        ({"name": "x", "version": "1", "description": "d", "entry_point": "main.py"}, "must be 'file.py:function'"),
        ({"name": "1x", "version": "1", "description": "d", "entry_point": "main.py:run"}, "must start with a letter"),
        (
            {
                "name": "x",
                "version": "1",
                "description": "d",
                "entry_point": "main.py:run",
                "input_schema": {"type": "nonsense"},
            },
            "not a valid JSON Schema",
        ),
        ({"name": "x", "version": "1", "description": "d", "entry_point": "../evil.py:run"}, "not a file inside"),
        ({"name": "x", "version": "1", "description": "d", "entry_point": "main.py:missing"}, "has no function"),
        ({"name": "x", "description": "d", "entry_point": "main.py:run"}, "version"),
    ],
)
def test_bad_manifest_is_refused_with_the_reason(tmp_path: Path, manifest: dict[str, Any], message: str) -> None:
    folder = write_skill(tmp_path, manifest, "def run(args):\n    return 1\n")
    with pytest.raises(SkillError, match=message):
        load_skill_folder(folder)
