#!/usr/bin/env python3
"""Branch switches and worktrees against a cold build, in one run.

usage: python bench/switch_bench.py ROOT [--back 400] [--runs 1]

ROOT is a git work tree; it is left alone: the benchmark works in scratch clones that share
its objects (`git clone --shared`). Each measure runs in a fresh process:

* cold: a fresh cache, a checkout of the commit `--back` first-parent commits before HEAD
  (the baseline every other figure is divided by);
* switch: a process indexes HEAD, the work tree is checked out at that older commit, and the
  same process refreshes (what a running server does); then
* switch back: the checkout returns to HEAD and the process refreshes again;
* new worktree: `git worktree add` of the indexed repository, indexed by a new process with
  the same cache;
* RSS of one process serving 1 worktree, and of one serving 4 worktrees of the repository.

RTK_BENCH_CODE=DIR measures the rtk-lsp checkout at DIR instead of this one (for a "before").
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.environ.get("RTK_BENCH_CODE") or os.path.join(os.path.dirname(__file__), ".."))


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _git(cwd: str, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def _index(root: str) -> tuple[object, object, float]:
    from rtk_lsp.index.workspace import Workspace
    from rtk_lsp.settings import Settings

    t0 = time.perf_counter()
    ws = Workspace(root, Settings())
    snap = ws.refresh()
    return ws, snap, time.perf_counter() - t0


def _how(ws: object) -> dict[str, object]:
    return dict(getattr(ws, "last_refresh", {}))


def phase_cold(root: str) -> dict[str, object]:
    ws, snap, cold = _index(root)
    ws.close()  # type: ignore[attr-defined]
    return {"s": cold, "files": len(snap.files), "rss": _rss_mb()}  # type: ignore[attr-defined]


def phase_switch(root: str, old: str, new: str) -> dict[str, object]:
    ws, _, first = _index(root)
    _git(root, "checkout", "-q", "--detach", old)
    t0 = time.perf_counter()
    switched = ws.refresh()  # type: ignore[attr-defined]
    switch = time.perf_counter() - t0
    how_switch = _how(ws)
    _git(root, "checkout", "-q", "--detach", new)
    t0 = time.perf_counter()
    ws.refresh()  # type: ignore[attr-defined]
    back = time.perf_counter() - t0
    how_back = _how(ws)
    ws.close()  # type: ignore[attr-defined]
    return {
        "first_s": first,
        "switch_s": switch,
        "back_s": back,
        "changed": switched.cache["changed"],
        "how_switch": how_switch,
        "how_back": how_back,
        "rss": _rss_mb(),
    }


def phase_worktrees(roots: list[str]) -> dict[str, object]:
    times = []
    keep = []
    for root in roots:
        ws, _, s = _index(root)
        times.append(s)
        keep.append(ws)
    for ws in keep:
        ws.close()  # type: ignore[attr-defined]
    return {"s": times, "rss": _rss_mb()}


def run(*args: str, env: dict[str, str]) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, __file__, "--phase", *args], env=env, capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        sys.exit(f"phase {args[0]} failed:\n{out.stderr}")
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def one_run(root: str, back: int, scratch: str) -> dict[str, object]:
    head = _git(root, "rev-parse", "HEAD")
    old = _git(root, "rev-parse", f"HEAD~{back}")
    a, b = os.path.join(scratch, "cold"), os.path.join(scratch, "main")
    for d in (a, b):
        _git(scratch, "clone", "-q", "--shared", "--no-checkout", root, d)
    _git(a, "checkout", "-q", "--detach", old)
    _git(b, "checkout", "-q", "--detach", head)
    base = {k: v for k, v in os.environ.items() if not k.startswith("RTK_LSP_")}
    cold = run("cold", a, env={**base, "RTK_LSP_CACHE_DIR": os.path.join(scratch, "cache-cold")})
    env = {**base, "RTK_LSP_CACHE_DIR": os.path.join(scratch, "cache")}
    switch = run("switch", b, old, head, env=env)
    trees = [b]
    for i in range(1, 4):
        trees.append(os.path.join(scratch, f"wt{i}"))
        _git(b, "worktree", "add", "-q", "--detach", trees[-1], head)
    worktree = run("worktrees", trees[1], env=env)
    one = run("worktrees", b, env=env)
    four = run("worktrees", *trees, env=env)
    return {"cold": cold, "switch": switch, "worktree": worktree, "one": one, "four": four}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("root", nargs="+")
    ap.add_argument("--back", type=int, default=400)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--phase", choices=("cold", "switch", "worktrees"))
    a = ap.parse_args()
    if a.phase:
        if a.phase == "cold":
            out = phase_cold(a.root[0])
        elif a.phase == "switch":
            out = phase_switch(a.root[0], a.root[1], a.root[2])
        else:
            out = phase_worktrees(a.root)
        print(json.dumps(out))
        return
    root = os.path.realpath(a.root[0])
    runs = []
    for _ in range(a.runs):
        with tempfile.TemporaryDirectory() as scratch:
            runs.append(one_run(root, a.back, scratch))
    report(root, a.back, runs)


def _median(values: list[float]) -> float:
    return statistics.median(values)


def report(root: str, back_n: int, runs: list[dict[str, object]]) -> None:
    def col(f: object) -> float:
        return _median([f(r) for r in runs])  # type: ignore[operator]

    cold = col(lambda r: r["cold"]["s"])

    def ratio(f: object) -> float:  # each run against its own cold build: load changes between runs
        return col(lambda r: f(r) / r["cold"]["s"])  # type: ignore[operator]

    switch = lambda r: r["switch"]["switch_s"]  # noqa: E731
    back = lambda r: r["switch"]["back_s"]  # noqa: E731
    tree = lambda r: r["worktree"]["s"][0]  # noqa: E731
    rows = [
        (
            f"cold build at HEAD~{back_n} (fresh cache; the baseline)",
            cold,
            1.0,
            col(lambda r: r["cold"]["rss"]),
        ),
        (
            f"switch HEAD -> HEAD~{back_n} in a warm process ({runs[0]['switch']['changed']} files differ)",
            col(switch),
            ratio(switch),
            col(lambda r: r["switch"]["rss"]),
        ),
        ("switch back to HEAD", col(back), ratio(back), None),
        (
            "a new worktree of the indexed repository (new process)",
            col(tree),
            ratio(tree),
            col(lambda r: r["worktree"]["rss"]),
        ),
    ]
    print(
        f"root: {root} ({runs[0]['cold']['files']} files), {len(runs)} run(s), medians; load: {os.getloadavg()[0]:.2f}"
    )
    print("| measure | wall s | x cold (median of per-run ratios) | peak RSS MB |")
    print("|---|---|---|---|")
    for label, s, x, rss in rows:
        print(f"| {label} | {s:.2f} | {x:.2f} | {'' if rss is None else f'{rss:.0f}'} |")
    one, four = col(lambda r: r["one"]["rss"]), col(lambda r: r["four"]["rss"])
    print(f"| one process serving 1 worktree | | | {one:.0f} |")
    print(f"| one process serving 4 worktrees ({four / (4 * one):.2f}x four separate) | | | {four:.0f} |")
    print(f"how: switch {runs[0]['switch']['how_switch']}, back {runs[0]['switch']['how_back']}")
    print(
        "per run (cold, switch, back, worktree s): "
        + "; ".join(
            f"{r['cold']['s']:.2f}, {r['switch']['switch_s']:.2f}, {r['switch']['back_s']:.2f}, {r['worktree']['s'][0]:.2f}"
            for r in runs
        )
    )


if __name__ == "__main__":
    main()
