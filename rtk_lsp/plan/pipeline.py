"""The plan pipeline: task -> intent -> rank -> confidence -> budget. Pure: a snapshot and a
request in, a plan out.

The CLI, the language server and the HTTP endpoint all call `plan()`; the only
outside input is `read_source`, which the caller provides for `detail="content"`.
"""

from __future__ import annotations

import time

from rtk_lsp.index.snapshot import Snapshot
from rtk_lsp.plan import weights as W
from rtk_lsp.plan.budget import ReadSource, assemble, shown_path
from rtk_lsp.plan.confidence import assess
from rtk_lsp.plan.intent import parse_intent
from rtk_lsp.plan.rank import build_query, rank
from rtk_lsp.plan.request import PlanRequest
from rtk_lsp.plan.result import (
    BudgetReport,
    DroppedFile,
    ElapsedMs,
    Plan,
    PlanStats,
    RankedFile,
    Reading,
    plan_json,
)
from rtk_lsp.plan.task import TaskParts, read_task

__all__ = ["PIPELINE_VERSION", "Plan", "ReadSource", "plan", "plan_json"]

PIPELINE_VERSION = "rtk-lsp/1"


def plan(snapshot: Snapshot, request: PlanRequest, read_source: ReadSource | None = None) -> Plan:
    t0 = time.perf_counter()
    parts = read_task(request.task)
    intent = parse_intent(parts.words)
    query = build_query(intent, parts.words, parts.code_words, parts.title, parts.condensed)
    t1 = time.perf_counter()
    ranked, candidates = rank(snapshot, intent, query, parts)
    graph = snapshot.graph
    sure = assess(ranked, snapshot.files, snapshot.lexical, snapshot.history, graph.defs, graph.refs, query)
    t2 = time.perf_counter()

    # What the best matches use and what the task names: these pick symbols in linked files.
    seed_refs: dict[str, int] = {}
    for r in ranked[: W.SEEDS]:
        for name, n in snapshot.files[r.path].facts.refs.items():
            seed_refs[name] = seed_refs.get(name, 0) + n
    matched_names = {q.rsplit(".", 1)[-1] for r in ranked[: W.SEEDS] for q in r.matched}
    # a doubtful plan is a short one; below the floor it selects nothing and says why
    asm = assemble(
        ranked if sure.budget_share > 0 else [],
        snapshot.files,
        query,
        seed_refs,
        matched_names,
        int(request.budget * sure.budget_share) if sure.budget_share > 0 else request.budget,
        request.detail,
        request.task,
        read_source,
        f"{sure.value:.2f}, {sure.verdict}",
    )
    if sure.budget_share == 0:
        asm.dropped = [DroppedFile(r.path, r.score, "no match") for r in ranked]
    t3 = time.perf_counter()
    return Plan(
        task=request.task,
        root=shown_path(snapshot.root),
        pipeline_version=PIPELINE_VERSION,
        detail=request.detail,
        intent=intent,
        reading=_reading(parts),
        confidence=sure.value,
        verdict=sure.verdict,
        selected=tuple(asm.selected),
        dropped=tuple(asm.dropped[: W.RANKED_LIMIT]),
        ranked=tuple(RankedFile(shown_path(r.path), r.score) for r in ranked[: W.RANKED_LIMIT]),
        budget_report=BudgetReport(
            token_budget=request.budget,
            estimated_used=asm.used,
            candidates_total=candidates,
            candidates_selected=len(asm.selected),
        ),
        context=asm.context,
        stats=PlanStats(
            files_indexed=len(snapshot.files),
            generation=snapshot.generation,
            history_head=snapshot.history.head,
            cache=dict(snapshot.cache),
            elapsed_ms=ElapsedMs(
                intent=round((t1 - t0) * 1000, 2),
                rank=round((t2 - t1) * 1000, 2),
                budget=round((t3 - t2) * 1000, 2),
                total=round((t3 - t0) * 1000, 2),
            ),
        ),
    )


def _reading(parts: TaskParts) -> Reading:
    return Reading(
        chars=parts.chars,
        condensed=parts.condensed,
        frames=len(parts.frames),
        code_names=tuple(n.name for n in parts.names[:20]),
        errors=parts.errors[-3:],
        messages=len(parts.messages),
        options=parts.options,
        codes=parts.codes,
    )
