#!/usr/bin/env python3
"""Localization quality in-process, for fast iteration on ranking.

Scores the same metrics as `../shared/bench/run_bench.py` (R@k over `ranked`, MRR,
budgeted recall over `selected`, over-budget answers), but builds each case's
snapshot once and caches it (pickled) so that ranking changes re-score 150 cases in
seconds. The shared runner, which calls the CLI cold per case, stays the reference.

usage: MIRRORS=/work/.mirror python bench/quality.py ../shared/bench/dev/*.jsonl [--budget 4000]
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from collections import defaultdict

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from rtk_lsp.plan.request import PlanRequest
from rtk_lsp.plan.result import Plan
from rtk_lsp.planning import build_snapshot, plan_snapshot
from rtk_lsp.settings import Settings

WS = os.environ.get("QUALITY_WS") or os.path.join(tempfile.gettempdir(), "rtk_quality_ws")
SNAPS = os.path.join(WS, "snapshots")


def git(*args: str, cwd: str | None = None) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout


def mirror_for(repo: str) -> str:
    mirrors = os.environ.get("MIRRORS", "")
    for entry in os.listdir(mirrors):
        if entry.split("+", 1)[-1] == repo:
            return os.path.join(mirrors, entry, "repo")
    raise SystemExit(f"no mirror for {repo} in MIRRORS={mirrors!r}")


def checkout(repo: str, sha: str) -> str:
    d = os.path.join(WS, "trees", repo)
    if not os.path.isdir(d):
        os.makedirs(os.path.dirname(d), exist_ok=True)
        git("clone", "-q", "--no-checkout", mirror_for(repo), d)
        git("remote", "remove", "origin", cwd=d)
    git("checkout", "-q", "-f", "--detach", sha, cwd=d)
    git("clean", "-q", "-fdx", cwd=d)
    for ref in git("for-each-ref", "--format=%(refname)", cwd=d).split():
        git("update-ref", "-d", ref, cwd=d)
    return d


def snapshot_for(case: dict) -> object:
    os.makedirs(SNAPS, exist_ok=True)
    cached = os.path.join(SNAPS, f"{case['repo']}-{case['parent'][:12]}.pickle")
    if os.path.exists(cached):
        with open(cached, "rb") as f:
            return pickle.load(f)
    root = checkout(case["repo"], case["parent"])
    os.environ.setdefault("RTK_LSP_CACHE_DIR", os.path.join(WS, "cache"))
    snap = build_snapshot(root, Settings())
    with open(cached, "wb") as f:
        pickle.dump(snap, f, protocol=pickle.HIGHEST_PROTOCOL)
    return snap


def score(gold: list[str], result: Plan) -> dict[str, float]:
    ranked = [r.rel_path for r in result.ranked] or [s.rel_path for s in result.selected]
    selected = {s.rel_path for s in result.selected}
    g = set(gold)
    rr = next((1.0 / (i + 1) for i, p in enumerate(ranked) if p in g), 0.0)
    return {
        "r1": len(g & set(ranked[:1])) / len(g),
        "r5": len(g & set(ranked[:5])) / len(g),
        "r10": len(g & set(ranked[:10])) / len(g),
        "mrr": rr,
        "rb": len(g & selected) / len(g),
        "nsel": len(selected),
        "over": float(result.budget_report.estimated_used > result.budget_report.token_budget),
        "ms": result.stats.elapsed_ms.total,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("cases", nargs="+")
    ap.add_argument("--budget", type=int, default=4000)
    ap.add_argument("--misses", action="store_true", help="print the cases whose gold is not in the top 5")
    ap.add_argument(
        "--weights", default="", help="experiment: override signal weights, e.g. churn=0,lexical=0.4"
    )
    a = ap.parse_args()
    if a.weights:
        from types import MappingProxyType

        from rtk_lsp.plan import weights

        w = dict(weights.SIGNAL_WEIGHTS)
        for item in a.weights.split(","):
            k, v = item.split("=")
            w[k] = float(v)
        weights.SIGNAL_WEIGHTS = MappingProxyType(w)
    agg: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    t0 = time.time()
    cases = []
    for path in a.cases:
        with open(path) as f:
            cases.extend(json.loads(line) for line in f)
    for case in cases:
        snap = snapshot_for(case)
        gold = [g for g in case["gold"] if g in snap.files]  # type: ignore[attr-defined]
        if not gold:
            continue
        result = plan_snapshot(snap, PlanRequest(case["task"], a.budget))  # type: ignore[arg-type]
        sc = score(gold, result)
        for k, v in sc.items():
            agg[case["repo"]][k].append(v)
            agg["ALL"][k].append(v)
        if a.misses and sc["r5"] < 1:
            top = [r.rel_path for r in result.ranked[:5]]
            print(f"MISS {case['repo']} {case['task'][:70]!r} gold={gold} top={top}", file=sys.stderr)
    print(
        f"{'repo':10} {'n':>3} {'R@1':>5} {'R@5':>5} {'R@10':>5} {'MRR':>5} {'Rbud':>5} {'nsel':>5} {'over':>4} {'ms':>6}"
    )
    order = [*sorted(k for k in agg if k != "ALL"), "ALL"]
    macro = defaultdict(list)
    for repo in order:
        m = agg[repo]
        n = len(m["r1"])
        mean = {k: sum(v) / n for k, v in m.items()}
        if repo != "ALL":
            for k, v in mean.items():
                macro[k].append(v)
        print(
            f"{repo:10} {n:3d} {mean['r1']:5.2f} {mean['r5']:5.2f} {mean['r10']:5.2f} {mean['mrr']:5.2f} "
            f"{mean['rb']:5.2f} {mean['nsel']:5.1f} {int(sum(m['over'])):4d} {sorted(m['ms'])[n // 2]:6.1f}"
        )
    mm = {k: sum(v) / len(v) for k, v in macro.items()}
    print(
        f"{'macro':10} {'':3} {mm['r1']:5.2f} {mm['r5']:5.2f} {mm['r10']:5.2f} {mm['mrr']:5.2f} {mm['rb']:5.2f}"
    )
    print(f"({time.time() - t0:.1f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
