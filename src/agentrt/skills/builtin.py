"""Built-in skills: need no network, no files, no secrets."""

from __future__ import annotations

import ast
import math
import operator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agentrt.errors import SkillError
from agentrt.skills._base import FunctionSkill, skill

_BINARY: dict[type[ast.operator], Any] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Any] = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_FUNCTIONS: dict[str, Any] = {
    "abs": abs,
    "round": round,
    "min": min,
    "max": max,
    "sqrt": math.sqrt,
    "log": math.log,
    "exp": math.exp,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "floor": math.floor,
    "ceil": math.ceil,
}
_CONSTANTS = {"pi": math.pi, "e": math.e}
MAX_EXPRESSION_LENGTH = 500
MAX_EXPONENT = 1000


def evaluate_expression(expression: str) -> int | float:
    """Arithmetic only: numbers, + - * / // % **, parentheses and a few math functions.

    The expression is parsed, never ``eval``-ed; anything else is refused.
    """
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise SkillError(f"expression longer than {MAX_EXPRESSION_LENGTH} characters")
    try:
        tree = ast.parse(expression.replace("^", "**"), mode="eval")
    except SyntaxError:
        raise SkillError(f"not an arithmetic expression: {expression!r}") from None
    try:
        result = _evaluate(tree.body)
    except ZeroDivisionError:
        raise SkillError("division by zero") from None
    except (OverflowError, ValueError) as exc:
        raise SkillError(f"cannot evaluate {expression!r}: {exc}") from None
    if not isinstance(result, (int, float)):
        raise SkillError(f"{expression!r} has no real-number result")
    return result


def _evaluate(node: ast.expr) -> Any:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > MAX_EXPONENT:
            raise SkillError(f"exponent larger than {MAX_EXPONENT}")
        return _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_evaluate(node.operand))
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCTIONS
        and not node.keywords
    ):
        return _FUNCTIONS[node.func.id](*(_evaluate(arg) for arg in node.args))
    raise SkillError(f"unsupported element in expression: {ast.unparse(node)!r}")


@skill(
    "calculator",
    "Evaluates an arithmetic expression such as 17*23 or sqrt(2)/3.",
    input_schema={
        "type": "object",
        "properties": {"expression": {"type": "string", "description": "e.g. 17*23"}},
        "required": ["expression"],
        "additionalProperties": False,
    },
    output_description="{expression, result}: the numeric result",
    version="1.0.0",
    blocking=False,
)
def calculator(args: dict[str, Any]) -> dict[str, Any]:
    expression = str(args["expression"])
    return {"expression": expression, "result": evaluate_expression(expression)}


@skill(
    "current_time",
    "The current date and time, in an IANA timezone (default UTC).",
    input_schema={
        "type": "object",
        "properties": {"timezone": {"type": "string", "description": "e.g. Europe/Paris"}},
        "additionalProperties": False,
    },
    output_description="{timezone, iso, weekday}",
    version="1.0.0",
    blocking=False,
)
def current_time(args: dict[str, Any]) -> dict[str, Any]:
    name = args.get("timezone") or "UTC"
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SkillError(f"unknown timezone {name!r}") from None
    now = datetime.now(zone)
    return {"timezone": name, "iso": now.isoformat(timespec="seconds"), "weekday": now.strftime("%A")}


BUILTIN_SKILLS: tuple[FunctionSkill, ...] = (calculator, current_time)
