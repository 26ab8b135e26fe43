"""A plan request and its validation, shared by the CLI, the LSP, the HTTP and the MCP doors.

A budget of 0 means the door's default, in every door (as in the reference's API): the
default a door uses when no budget is given at all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, get_args

from rtk_lsp.plan.result import Detail
from rtk_lsp.settings import DEFAULT_BUDGET, MAX_BUDGET

__all__ = [
    "DETAILS",
    "MAX_TASK_CHARS",
    "PlanRequest",
    "RequestError",
    "parse_budget",
    "parse_detail",
    "parse_session",
    "parse_task",
    "plan_request_from_json",
]

DETAILS: tuple[Detail, ...] = get_args(Detail)
# The largest task any door takes: far past any real issue (the pipeline condenses long tasks,
# see plan/task.py), and the size of the HTTP body limit, so that a task fits every door alike.
MAX_TASK_CHARS = 4 * 1024 * 1024
MAX_SESSION_CHARS = 200
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class RequestError(ValueError):
    """A request field is missing or wrong; `field` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class PlanRequest:
    task: str
    budget: int = DEFAULT_BUDGET
    detail: Detail = "symbols"


def parse_task(value: Any, field: str = "task") -> str:
    if value is None:
        raise RequestError(field, "is required")
    if not isinstance(value, str):
        raise RequestError(field, f"must be a string, got {type(value).__name__}")
    # A lone surrogate (valid JSON, an undecodable byte of argv) cannot be encoded for the answer.
    task = _LONE_SURROGATE.sub("\ufffd", value).strip()
    if not task:
        raise RequestError(field, "must not be empty")
    if len(task) > MAX_TASK_CHARS:
        raise RequestError(field, f"is longer than {MAX_TASK_CHARS} characters")
    return task


def parse_budget(value: Any, default: int, field: str = "budget") -> int:
    """A token budget in 1..MAX_BUDGET; `default` when it is missing or 0."""
    if value is None:
        return default
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (isinstance(value, float) and not value.is_integer())
    ):
        raise RequestError(field, f"must be an integer, got {value!r}")
    budget = int(value)
    if budget == 0:
        return default
    if budget < 0:
        raise RequestError(field, f"must be 0 (the default) or positive, got {budget}")
    if budget > MAX_BUDGET:
        raise RequestError(field, f"must be at most {MAX_BUDGET}, got {budget}")
    return budget


def parse_detail(value: Any, field: str = "detail") -> Detail:
    if value is None:
        return "symbols"
    for detail in DETAILS:
        if value == detail:
            return detail
    raise RequestError(field, f"must be one of {', '.join(DETAILS)}, got {value!r}")


def parse_session(value: Any, field: str = "session") -> str | None:
    """An agent session's id, as its client names it (Claude Code's `session_id`): it ties what
    the agent does after a plan to that plan."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise RequestError(field, "must be a non-empty string")
    if len(value) > MAX_SESSION_CHARS or not value.isprintable():
        raise RequestError(field, f"must be printable and at most {MAX_SESSION_CHARS} characters")
    return value


def plan_request_from_json(
    raw: Mapping[str, Any],
    default_budget: int = DEFAULT_BUDGET,
    budget_field: str = "budget",
) -> PlanRequest:
    """Validate the plan fields of a JSON request (LSP uses `budget`, HTTP `token_budget`)."""
    return PlanRequest(
        task=parse_task(raw.get("task")),
        budget=parse_budget(raw.get(budget_field), default_budget, budget_field),
        detail=parse_detail(raw.get("detail")),
    )
