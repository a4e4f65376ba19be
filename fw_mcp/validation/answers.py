"""Answers checked against callers' schemas: the model's JSON (extract_json) and its tool calls'
arguments (call_with_tools). Plain functions on picklable values, so they run in a thread of the
server or in a worker process alike, under the validation budget.
"""

from __future__ import annotations

from typing import Any

from fw_mcp import jsondepth
from fw_mcp.errors import InvalidArgument
from fw_mcp.validation.budget import BudgetExceeded
from fw_mcp.validation.schemas import Schema, schema_problems

__all__ = ["answer_problem", "check_calls", "unfence"]

_FENCE = "```"


def unfence(text: str) -> str:
    """The JSON inside a Markdown fence (```json ... ```), when the whole answer is one; linear time."""
    if len(text) < 2 * len(_FENCE) or not (text.startswith(_FENCE) and text.endswith(_FENCE)):
        return text
    inner = text[len(_FENCE) : -len(_FENCE)]
    return inner.removeprefix("json").strip()


def answer_problem(answer: str, schema: Schema, max_depth: int) -> tuple[Any, str | None]:
    """(parsed value, None) when the answer is JSON valid for `schema`; else (None, what is wrong,
    quotable to the model)."""
    try:
        data = jsondepth.loads(unfence(answer.strip()), max_depth)
    except jsondepth.TooDeep as exc:
        return None, f"the answer is not usable JSON: {exc} ([limits] max_json_depth)"
    except ValueError as exc:
        return None, f"the answer is not valid JSON ({exc})"
    problem = schema_problems(schema, data, "schema")
    return (data, None) if problem is None else (None, problem)


def check_calls(
    calls: list[tuple[str, str | None]], schemas: dict[str, Schema], max_depth: int
) -> list[tuple[Any, str | None]]:
    """For each (name, arguments JSON) call: (its parsed arguments or None, its error or None).

    Each call is checked on its own: one bad call (not JSON, too deep, too costly to check) gets an
    error and the others are still returned. Once the budget is used up, the rest are not checked.
    """
    out: list[tuple[Any, str | None]] = []
    spent: str | None = None
    for name, arguments in calls:
        if spent is not None:
            out.append((None, f"arguments not checked: the validation budget was used up ({spent})"))
            continue
        parsed, error = _parse(name, arguments, schemas, max_depth)
        if error is None:
            try:
                problem = schema_problems(schemas[name], parsed, "parameters")
            except InvalidArgument as exc:
                problem = exc.problem
            except BudgetExceeded as exc:
                spent = f"by the call to {name}"
                problem = None
                error = f"arguments could not be checked against {name}'s parameters: {exc.describe()}"
            if problem:
                error = f"arguments do not match {name}'s parameters: {problem}"
        out.append((parsed, error))
    return out


def _parse(
    name: str, arguments: str | None, schemas: dict[str, Schema], max_depth: int
) -> tuple[Any, str | None]:
    """(the arguments as a JSON object, None), or (None, why they cannot be checked)."""
    if name not in schemas:
        return None, f"the model called {name!r}, which is not one of the given tools"
    try:
        parsed = jsondepth.loads(arguments or "{}", max_depth)
    except jsondepth.TooDeep as exc:
        return None, f"arguments are not usable: {exc} ([limits] max_json_depth)"
    except ValueError as exc:
        return None, f"arguments are not valid JSON ({exc})"
    if not isinstance(parsed, dict):
        return None, "arguments are not a JSON object"
    return parsed, None
