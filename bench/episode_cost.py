#!/usr/bin/env python3
"""What recording plans costs: served plans with recording off and on, the Claude Code
PostToolUse hook as a process, and `rtk-lsp plan` computing in its own process.

Each comparison runs in this one process, interleaved task by task, against its own
baseline: the same plan served unrecorded; a bare `python -c pass` for the hook; the same
in-process plan unrecorded. The store and episode log go to a temporary cache directory.

usage: python bench/episode_cost.py ROOT [--n 60] [--hook-runs 20] [--cli-runs 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def row(name: str, values: list[float]) -> str:
    return f"| {name} | {pct(values, 50):.2f} | {pct(values, 95):.2f} | {statistics.mean(values):.2f} |"


async def served(root: str, tasks: list[str]) -> dict[str, list[float]]:
    from rtk_lsp.engine import Engine
    from rtk_lsp.plan.request import PlanRequest

    engine = Engine()
    engine.add_folder(root)
    times: dict[str, list[float]] = {"off": [], "on": [], "session": []}
    try:
        await engine.plan(root, PlanRequest("warm up the index"))
        for i, task in enumerate(tasks):
            # A budget of its own per variant: each is computed, none answered from the plan cache.
            for offset, (name, door, session) in enumerate(
                (("off", None, None), ("on", "http", None), ("session", "http", f"s{i}"))
            ):
                start = time.perf_counter()
                await engine.plan(root, PlanRequest(task, 4000 + offset), door=door, session=session)
                times[name].append((time.perf_counter() - start) * 1000)
    finally:
        await engine.close()
    return times


def timed_runs(command: list[str], data: bytes, runs: int, env: dict[str, str]) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, input=data, env=env, capture_output=True, check=True)
        out.append((time.perf_counter() - start) * 1000)
    return out


def interleaved(fns: dict[str, Callable[[], object]], runs: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(runs):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("--n", type=int, default=60, help="tasks for the served plans")
    ap.add_argument("--hook-runs", type=int, default=20)
    ap.add_argument("--cli-runs", type=int, default=8)
    a = ap.parse_args()
    root = os.path.realpath(a.root)
    os.environ["RTK_LSP_CACHE_DIR"] = tempfile.mkdtemp(prefix="rtk-episode-bench-")
    os.environ.pop("RTK_LSP_EPISODES", None)

    from rtk_lsp.index.episodes import EpisodeLog
    from rtk_lsp.plan.request import PlanRequest
    from rtk_lsp.planning import build_snapshot, plan_root
    from rtk_lsp.settings import EpisodeSettings, Settings

    snap = build_snapshot(root, Settings())
    subjects = [c.subject for c in snap.history.commits if len(c.subject.split()) >= 3]
    tasks = list(dict.fromkeys(subjects))[: a.n] or ["fix the parser error handling"] * a.n
    print(f"root {root}: {len(snap.files)} files, {len(tasks)} tasks")

    times = asyncio.run(served(root, tasks))
    print("\nServed plans (Engine.plan, warm, each computed; ms)\n")
    print("| plans served | p50 | p95 | mean |")
    print("|---|---|---|---|")
    print(row("not recorded (baseline)", times["off"]))
    print(row("recorded (written by the recorder thread)", times["on"]))
    print(row("recorded, with a session (answer waits for the write)", times["session"]))
    for name in ("on", "session"):
        print(f"| ratio {name} / baseline (p50) | {pct(times[name], 50) / pct(times['off'], 50):.3f}x | | |")

    # The hook: one process per Read/Edit/Write; its episode is the newest of session "bench".
    log = EpisodeLog(root)
    g = log.gain()
    print(
        f"\nThe {g.plans} recorded plans (symbols detail, budget 4000): {g.tokens_injected:,} tokens injected, "
        f"{g.tokens_whole_files:,} to read their {g.files_selected:,} selected files whole "
        f"({g.tokens_injected / max(g.tokens_whole_files, 1):.2f} times)"
    )
    env = dict(os.environ)
    plan = plan_root(root, PlanRequest(tasks[0]), Settings())
    from rtk_lsp.recording import episode_of

    log.add(episode_of(plan, snap.files, "http", "bench", 1.0, False))
    target = os.path.join(root, plan.selected[0].rel_path) if plan.selected else os.path.join(root, "x")
    post = {
        "session_id": "bench",
        "hook_event_name": "PostToolUse",
        "cwd": root,
        "tool_name": "Read",
        "tool_input": {"file_path": target},
    }
    stranger = {**post, "session_id": "no-plan-here"}
    py = sys.executable
    bare = timed_runs([py, "-c", "pass"], b"", a.hook_runs, env)
    hooked = timed_runs([py, "-m", "rtk_lsp.hook"], json.dumps(post).encode(), a.hook_runs, env)
    nothing = timed_runs([py, "-m", "rtk_lsp.hook"], json.dumps(stranger).encode(), a.hook_runs, env)
    print("\nThe PostToolUse hook, a process per tool call (ms)\n")
    print("| process | p50 | p95 | mean |")
    print("|---|---|---|---|")
    print(row("python -c pass (baseline)", bare))
    print(row("hook: a read after a plan (one row written)", hooked))
    print(row("hook: a session without a plan (nothing written)", nothing))
    print(f"| ratio read after a plan / baseline (p50) | {pct(hooked, 50) / pct(bare, 50):.2f}x | | |")
    log.close()

    # `rtk-lsp plan` computing in its own process: the snapshot from the warm store, then the plan.
    off = Settings(episodes=EpisodeSettings(enabled=False))
    cli = interleaved(
        {
            "off": lambda: plan_root(root, PlanRequest(tasks[1 % len(tasks)]), off, door="cli"),
            "on": lambda: plan_root(root, PlanRequest(tasks[1 % len(tasks)]), Settings(), door="cli"),
        },
        a.cli_runs,
    )
    print("\n`rtk-lsp plan` in process (plan_root from a warm store; ms)\n")
    print("| plan_root | p50 | p95 | mean |")
    print("|---|---|---|---|")
    print(row("recording off (baseline)", cli["off"]))
    print(row("recording on (one episode written)", cli["on"]))
    print(f"| ratio on / off (p50) | {pct(cli['on'], 50) / pct(cli['off'], 50):.3f}x | | |")
    # The part recording adds, alone: open the log, write one episode, close (the store open, as in plan_root).
    from rtk_lsp.index.store import Store
    from rtk_lsp.recording import record_plan

    store = Store(root)
    alone = interleaved({"record": lambda: record_plan(plan, snap.files, "cli", 1.0, EpisodeSettings())}, 30)
    store.close()
    print(row("record_plan alone (30 runs)", alone["record"]))


if __name__ == "__main__":
    main()
