#!/usr/bin/env python3
"""Warm `plan()` time of a 50 KB issue against a one-line task on the same snapshot.

The long task is built from the workspace itself, so every part of it has work to do:
a title, prose, a code block calling real definitions, a quoted message taken from a
real string literal, console output, a traceback whose frames run through real files
and functions, and log lines padding it to the target size. The one-line task is its
title. Target: the long task plans in at most 2x the one-line task's time (p50).

usage: python bench/long_task.py ROOT [--kb 50] [--n 30] [--budget 4000]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from rtk_lsp.index.workspace import Snapshot, Workspace
from rtk_lsp.plan.pipeline import plan
from rtk_lsp.plan.request import PlanRequest
from rtk_lsp.plan.task import read_task
from rtk_lsp.settings import Settings


def long_issue(snap: Snapshot, size: int, seed: int = 7) -> tuple[str, str]:
    """(title, issue of about `size` characters) made of the workspace's own names and strings."""
    rng = random.Random(seed)
    sources = sorted(
        p
        for p, r in snap.files.items()
        if r.is_text and r.facts.symbols and "test" not in p and r.language not in ("markdown", "rst")
    )
    chosen = rng.sample(sources, min(40, len(sources)))
    defs = [(p, s) for p in chosen for s in snap.files[p].facts.symbols if s.kind in ("function", "method")]
    classes = [s.name for p in chosen for s in snap.files[p].facts.symbols if s.kind == "class"]
    literals = [t for p in chosen for t in snap.files[p].facts.strings if t.count(" ") >= 3]
    p0, s0 = defs[0] if defs else (chosen[0], None)
    title = f"{s0.qualified if s0 else p0} fails on an empty input"
    code = "\n".join(
        [
            "```python",
            "import pkg",
            *(f"obj{i} = pkg.{c}()" for i, c in enumerate(classes[:6])),
            *(f"obj0.{s.name}(data)" for _, s in defs[:6]),
            "```",
        ]
    )
    frames = [
        f'  File "/usr/lib/python3/site-packages/{p}", line {s.start_line}, in {s.name}\n    {s.signature[:60]}'
        for p, s in defs[:40]
    ]
    traceback = (
        "```\nTraceback (most recent call last):\n" + "\n".join(frames) + "\nValueError: empty input\n```"
    )
    quoted = f'It prints "{literals[0]}" first.' if literals else ""
    prose = (
        f"{title}\n\nWhen the input is empty the call below fails. {quoted} "
        "It worked in the previous release; the change log does not mention it.\n\n"
    )
    output = "```\n" + "\n".join(f"WARNING: {t}" for t in literals[1:8]) + "\n```\n\n"
    head = prose + code + "\n\n" + output
    log_lines = []
    i = 0
    while len(head) + len(traceback) + sum(len(x) + 1 for x in log_lines) < size:
        log_lines.append(
            f"2024-05-0{1 + i % 9} 12:{i % 60:02d}:00 worker-{i % 4} processed batch {i} in {i % 97} ms"
        )
        i += 1
    return title, head + "```\n" + "\n".join(log_lines) + "\n```\n\n" + traceback


def timed(task: str, snap: Snapshot, budget: int) -> float:
    started = time.perf_counter()
    plan(snap, PlanRequest(task, budget))
    return (time.perf_counter() - started) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("--kb", type=int, default=50)
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--budget", type=int, default=4000)
    a = ap.parse_args()
    ws = Workspace(a.root, Settings())
    snap = ws.refresh()
    ws.close()
    title, issue = long_issue(snap, a.kb * 1000)
    parts = read_task(issue)
    for task in (title, issue):  # warm-up: first-use caches (lookups, commit index, lru caches)
        plan(snap, PlanRequest(task, a.budget))
    # one of each in turn, so that a busy moment of the machine hits both alike
    short: list[float] = []
    long: list[float] = []
    for _ in range(a.n):
        short.append(timed(title, snap, a.budget))
        long.append(timed(issue, snap, a.budget))
    s, lg = statistics.median(short), statistics.median(long)
    print(f"root {a.root}: {len(snap.files)} files")
    print(
        f"long task: {len(issue):,} characters, {len(parts.frames)} frames, {len(parts.names)} code names, "
        f"{len(parts.messages)} messages, condensed={parts.condensed}"
    )
    print("| task | warm plan() p50 ms |")
    print("|---|---|")
    print(f"| one line: {title[:60]!r} | {s:.1f} |")
    print(f"| {a.kb} KB issue | {lg:.1f} |")
    print(f"| ratio long / one line | {lg / max(s, 1e-6):.2f}x (target <= 2x) |")


if __name__ == "__main__":
    main()
