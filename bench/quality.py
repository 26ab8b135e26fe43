#!/usr/bin/env python3
"""Localization quality in-process, for fast iteration on ranking.

Scores the same metrics as `../shared/bench/run_bench.py` (R@k over `ranked`, Acc@k
(every gold file in the top k), MRR, budgeted recall over `selected`, over-budget
answers), but builds each case's snapshot once and caches it (pickled, keyed by the
extraction code's digest) so that ranking changes re-score 190 cases in seconds. The
shared runner, which calls the CLI cold per case, stays the reference.

Cases are commit-message cases (`../shared/bench/dev/`), issue cases
(`../shared/bench/swe-dev/`; a mirror that lacks a few data blobs is checked out without
them, as the shared runner does) or off-topic tasks (`bench/offtopic.jsonl`, no gold: the
share of the budget their plans emit is reported instead).

usage: MIRRORS=/work/.mirror QUALITY_WS=DIR python bench/quality.py CASES.jsonl... [--budget 4000]
       [--misses] [--per-case FILE.jsonl]
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from rtk_lsp.index.store import FORMAT
from rtk_lsp.plan.request import PlanRequest, RequestError, parse_task
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
    missing: list[str] = []
    while True:
        try:
            git("checkout", "-q", "-f", "--detach", sha, cwd=d)
            break
        except subprocess.CalledProcessError as e:
            # a mirror without a few large data blobs: leave those paths out (sparse checkout)
            bad = re.findall(r"for '([^']+)'", e.stderr or "")
            bad += re.findall(r"unable to read sha1 file of (.+) \([0-9a-f]{40}\)", e.stderr or "")
            if not bad or set(bad) <= set(missing) or len(missing) > 50:
                raise
            missing += bad
            git("config", "core.sparseCheckout", "true", cwd=d)
            git("config", "core.sparseCheckoutCone", "false", cwd=d)
            with open(os.path.join(d, ".git", "info", "sparse-checkout"), "w") as f:
                f.write("/*\n" + "".join(f"!/{m}\n" for m in missing))
    git("clean", "-q", "-fdx", cwd=d)
    for ref in git("for-each-ref", "--format=%(refname)", cwd=d).split():
        git("update-ref", "-d", ref, cwd=d)
    return d


def snapshot_for(case: dict) -> object:
    os.makedirs(SNAPS, exist_ok=True)
    digest = FORMAT.rsplit(":", 1)[-1]  # parser changes must re-index
    cached = os.path.join(SNAPS, f"{case['repo']}-{case['parent'][:12]}-{digest}.pickle")
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
    top = {k: set(ranked[:k]) for k in (1, 5, 10)}
    rr = next((1.0 / (i + 1) for i, p in enumerate(ranked) if p in g), 0.0)
    return {
        "r1": len(g & set(ranked[:1])) / len(g),
        "r5": len(g & set(ranked[:5])) / len(g),
        "r10": len(g & set(ranked[:10])) / len(g),
        "a1": float(g <= top[1]),
        "a5": float(g <= top[5]),
        "a10": float(g <= top[10]),
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
    ap.add_argument("--per-case", default="", help="write one JSON line per case (rank of the gold, top 10)")
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
    off: list[
        tuple[float, int, float]
    ] = []  # off-topic cases: share of the budget emitted, files, confidence
    per_case = open(a.per_case, "w") if a.per_case else None  # noqa: SIM115
    for case in cases:
        try:
            snap = snapshot_for(case)
        except subprocess.CalledProcessError as e:
            print(f"! skip {case['repo']} {case['sha'][:30]}: {(e.stderr or '')[-200:]}", file=sys.stderr)
            continue
        if not case["gold"]:  # an off-topic case: nothing belongs in the context
            result = plan_snapshot(snap, PlanRequest(case["task"], a.budget))  # type: ignore[arg-type]
            used = result.budget_report.estimated_used
            off.append((used / a.budget, len(result.selected), result.confidence))
            print(
                f"OFF {case['repo']:10} {case['sha']} share={used / a.budget:.3f} nsel={len(result.selected)} "
                f"confidence={result.confidence} {result.verdict!r}",
                file=sys.stderr,
            )
            continue
        gold = [g for g in case["gold"] if g in snap.files]  # type: ignore[attr-defined]
        if not gold:
            continue
        try:  # the doors' validation: a task they refuse scores zero, as in the shared runner
            request = PlanRequest(parse_task(case["task"]), a.budget)
        except RequestError as e:
            print(f"! {case['repo']} {case['sha'][:30]}: {e}", file=sys.stderr)
            for k in ("r1", "r5", "r10", "a1", "a5", "a10", "mrr", "rb", "nsel", "over", "ms"):
                agg[case["repo"]][k].append(0.0)
                agg["ALL"][k].append(0.0)
            continue
        result = plan_snapshot(snap, request)  # type: ignore[arg-type]
        sc = score(gold, result)
        for k, v in sc.items():
            agg[case["repo"]][k].append(v)
            agg["ALL"][k].append(v)
        ranked = [r.rel_path for r in result.ranked]
        rank = next((i + 1 for i, p in enumerate(ranked) if p in gold), 0)
        if a.misses and sc["r5"] < 1:
            print(
                f"MISS {case['repo']} {case['sha'][:40]} rank={rank} gold={gold} top={ranked[:5]}",
                file=sys.stderr,
            )
        if per_case:
            row = {"repo": case["repo"], "sha": case["sha"], "gold": gold, "rank": rank, "top10": ranked[:10]}
            row |= {"confidence": result.confidence, "used": result.budget_report.estimated_used}
            per_case.write(json.dumps(row | sc) + "\n")
    if per_case:
        per_case.close()
    cols = ("r1", "r5", "r10", "a1", "a5", "a10", "mrr", "rb")
    heads = ("R@1", "R@5", "R@10", "A@1", "A@5", "A@10", "MRR", "Rbud")
    print(
        f"{'repo':12} {'n':>3} " + " ".join(f"{h:>5}" for h in heads) + f" {'nsel':>5} {'over':>4} {'ms':>6}"
    )
    order = [*sorted(k for k in agg if k != "ALL"), "ALL"] if agg else []
    macro = defaultdict(list)
    for repo in order:
        m = agg[repo]
        n = len(m["r1"])
        mean = {k: sum(v) / n for k, v in m.items()}
        if repo != "ALL":
            for k, v in mean.items():
                macro[k].append(v)
        print(
            f"{repo:12} {n:3d} "
            + " ".join(f"{mean[c]:5.2f}" for c in cols)
            + f" {mean['nsel']:5.1f} {int(sum(m['over'])):4d} {sorted(m['ms'])[n // 2]:6.1f}"
        )
    if macro:
        mm = {k: sum(v) / len(v) for k, v in macro.items()}
        print(f"{'macro':12} {'':3} " + " ".join(f"{mm[c]:5.2f}" for c in cols))
    if off:
        n = len(off)
        print(
            f"off-topic: {n} tasks, mean share of budget emitted {sum(o[0] for o in off) / n:.3f}, "
            f"mean files selected {sum(o[1] for o in off) / n:.1f}, "
            f"mean confidence {sum(o[2] for o in off) / n:.2f}"
        )
    print(f"({time.time() - t0:.1f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
