#!/usr/bin/env python3
"""Warm `plan()` latency over 100 varied tasks on a loaded snapshot.

Tasks are the subjects of the repository's own recent commits (varied, realistic,
and not chosen by us). The baseline, run in the same process on the same snapshot,
is a bare BM25 query over file bodies: what the cheapest lexical ranker costs.

usage: python bench/plan_latency.py ROOT [--n 100] [--budget 4000] [--detail symbols]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from rtk_lsp.plan.intent import parse_intent
from rtk_lsp.plan.rank import build_query
from rtk_lsp.plan.request import PlanRequest
from rtk_lsp.planning import build_snapshot, plan_snapshot
from rtk_lsp.settings import Settings


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--budget", type=int, default=4000)
    ap.add_argument("--detail", default="symbols")
    a = ap.parse_args()
    t0 = time.perf_counter()
    snap = build_snapshot(a.root, Settings())
    load_s = time.perf_counter() - t0
    subjects = [c.subject for c in snap.history.commits if len(c.subject.split()) >= 3]
    tasks = list(dict.fromkeys(subjects))[: a.n] or ["fix the parser error handling"] * a.n
    for t in tasks[:5]:  # warm-up: first-use caches (commit index, lru caches)
        plan_snapshot(snap, PlanRequest(t, a.budget, a.detail))

    ours: list[float] = []
    base: list[float] = []
    for t in tasks:
        s = time.perf_counter()
        plan_snapshot(snap, PlanRequest(t, a.budget, a.detail))
        ours.append((time.perf_counter() - s) * 1000)
        s = time.perf_counter()
        snap.lexical.bm25("body", build_query(parse_intent(t), t).terms)
        base.append((time.perf_counter() - s) * 1000)
    print(f"root {a.root}: {len(snap.files)} files, {len(tasks)} tasks, snapshot loaded in {load_s:.2f} s")
    print("| measure | p50 ms | p95 ms | mean ms |")
    print("|---|---|---|---|")
    print(
        f"| plan() ({a.detail}, budget {a.budget}) | {pct(ours, 50):.1f} | {pct(ours, 95):.1f} | "
        f"{statistics.mean(ours):.1f} |"
    )
    print(
        f"| baseline: bare BM25 over bodies | {pct(base, 50):.1f} | {pct(base, 95):.1f} | "
        f"{statistics.mean(base):.1f} |"
    )
    print(f"| ratio plan / baseline (p50) | {pct(ours, 50) / max(pct(base, 50), 1e-6):.1f}x | | |")


if __name__ == "__main__":
    main()
