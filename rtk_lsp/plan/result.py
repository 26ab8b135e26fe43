"""The plan as a type: what every door returns, and its one serialisation.

The CLI's `--format json`, the HTTP answer and the LSP `rtk/planContext` result are all
`to_json(plan)`; `plan_json` is its text, the same bytes for the CLI and HTTP. Field order
is JSON key order. The JSON Schema published with the package
(`rtk_lsp/schema/plan-context.schema.json`) is generated from these classes and a test
keeps the two equal (`RTK_UPDATE_GOLDEN=1 pytest tests/unit/test_schema.py` regenerates it).

Adding a field: declare it on its class (with a default if older producers may lack it),
set it where the plan is built (`pipeline.py`, `budget.py`) and regenerate the schema.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "OMIT_IF_NONE",
    "BudgetReport",
    "Detail",
    "DroppedFile",
    "ElapsedMs",
    "Intent",
    "IntentKind",
    "Plan",
    "PlanStats",
    "PlanSymbol",
    "RankedFile",
    "Reading",
    "SelectedFile",
    "Source",
    "plan_json",
    "to_json",
]

Detail = Literal["paths", "symbols", "content"]
IntentKind = Literal["bugfix", "feature", "refactor", "test", "docs", "performance", "other"]
# The signal families a reason cites (`history`: similar past commits).
Source = Literal[
    "symbol", "path", "lexical", "graph", "cochange", "history", "churn", "traceback", "code", "literal"
]

# Field metadata: a None value is left out of the JSON rather than written as null.
OMIT_IF_NONE = {"omit_if_none": True}


@dataclass(frozen=True, slots=True)
class Intent:
    """What the task asks for, read from its words (`intent.parse_intent`)."""

    kind: IntentKind
    keywords: tuple[str, ...]  # the task's words that carry meaning, as written (lowercased), in task order
    identifiers: tuple[str, ...]  # code names as written: snake_case, camelCase, dotted, backticked
    paths: tuple[str, ...]  # mentioned paths and file names
    errors: tuple[str, ...]  # error names and quoted messages


@dataclass(frozen=True, slots=True)
class Reading:
    """What the task reader found in the task (`task.read_task`)."""

    chars: int  # the task's length as given
    condensed: bool  # too long to read whole: its head and tail were read, each part capped
    frames: int  # traceback frames read
    code_names: tuple[str, ...]  # names its code calls, constructs, subscripts or imports (the first 20)
    errors: tuple[str, ...]  # its last exception lines
    messages: int  # quoted messages and output lines matched against string literals
    options: tuple[str, ...]  # command-line options and settings it passes
    codes: tuple[str, ...]  # message codes and symbols in its output


@dataclass(frozen=True, slots=True)
class PlanSymbol:
    """A definition of a selected file worth pointing at. Lines are 1-based and inclusive."""

    name: str  # qualified: `Class.method`
    kind: str  # function, method, class, struct, enum, interface, trait, type, module, constant, macro, impl
    start_line: int
    end_line: int
    signature: str
    why: str


@dataclass(frozen=True, slots=True)
class SelectedFile:
    """A file in the budgeted selection, with why it was chosen and which parts of it matter."""

    rel_path: str
    score: float
    estimated_tokens: int  # what its block of `context` costs (for `paths`: reading the whole file)
    features: Mapping[str, float]  # every signal's normalised value, and the structure multiplier
    sources: tuple[Source, ...]
    reasons: tuple[str, ...]
    symbols: tuple[PlanSymbol, ...]
    content: str | None = field(default=None, metadata=OMIT_IF_NONE)  # its block, with `detail=content`


@dataclass(frozen=True, slots=True)
class DroppedFile:
    """A ranked file left out: below the relevance cutoff, over budget, or the budget exhausted."""

    rel_path: str
    score: float
    reason: str


@dataclass(frozen=True, slots=True)
class RankedFile:
    """One of the best files by score, whether or not it fits the budget."""

    rel_path: str
    score: float


@dataclass(frozen=True, slots=True)
class BudgetReport:
    """How the token budget was spent."""

    token_budget: int
    estimated_used: int  # never above token_budget
    candidates_total: int  # files that scored at all
    candidates_selected: int


@dataclass(frozen=True, slots=True)
class ElapsedMs:
    """Milliseconds per stage of the pipeline."""

    intent: float
    rank: float
    budget: float
    total: float


@dataclass(frozen=True, slots=True)
class PlanStats:
    """Which snapshot answered, and what the plan cost."""

    files_indexed: int
    generation: int  # the snapshot's generation: it changes whenever the index does
    history_head: str | None  # the commit the history was read at; null without git
    cache: Mapping[str, int]  # hits and misses of the refresh that made the snapshot, and totals
    elapsed_ms: ElapsedMs


@dataclass(frozen=True, slots=True)
class Plan:
    """A ranked, budgeted selection of the workspace's files for a task."""

    task: str
    root: str  # the workspace root that answered
    pipeline_version: str
    detail: Detail
    intent: Intent
    reading: Reading
    confidence: float  # in [0, 1], from absolute evidence: how sure the plan is that the task is about here
    verdict: str  # the same in words: what matched, or that nothing did
    selected: tuple[SelectedFile, ...]
    dropped: tuple[DroppedFile, ...]
    ranked: tuple[RankedFile, ...]
    budget_report: BudgetReport
    context: str  # the selection as Markdown, ready to paste into a prompt; what the budget counts
    stats: PlanStats


def to_json(value: Any) -> Any:
    """JSON-ready builtins for a plan (or any part of one): dicts in field order, lists for tuples."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            item = getattr(value, f.name)
            if item is None and f.metadata.get("omit_if_none"):
                continue
            out[f.name] = to_json(item)
        return out
    if isinstance(value, tuple | list):
        return [to_json(v) for v in value]
    if isinstance(value, Mapping):
        return {k: to_json(v) for k, v in value.items()}
    return value


def plan_json(plan: Plan | Mapping[str, Any]) -> str:
    """The one text of a plan, shared by the CLI and HTTP so that their bytes agree.

    A mapping is a plan already in JSON form (as a running server sent it).
    """
    return json.dumps(to_json(plan), indent=2, ensure_ascii=False)
