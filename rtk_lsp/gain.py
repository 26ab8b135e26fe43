"""`rtk-lsp gain` and `rtk-lsp episodes`: what the recorded events say about a root's plans.

Both read the root's episode log directly (no server, no index): `gain` sums it up, from
recorded events only, and says what each figure rests on; `episodes` lists the plans served
and what the agent did after each, or with `--clear` deletes them. The root is `--root`, or
the innermost directory above it that has an index database.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from typing import Any

from rtk_lsp.index.episodes import EpisodeLog, Gain, roots_with_logs
from rtk_lsp.settings import positive_int

DEFAULT_SINCE_DAYS = 30.0
DEFAULT_LIMIT = 20


def _days(text: str) -> float:
    value = float(text)
    if not 0 < value <= 36500:  # also NaN
        raise argparse.ArgumentTypeError(f"must be a number of days above 0, got {text}")
    return value


def register(sub: Any) -> None:
    sp = sub.add_parser(
        "gain",
        help="whether plans helped: recall, precision and tokens, from recorded events only",
        description="From the plans this machine recorded for a root and what agents then read and edited "
        "(through the Claude Code hook and the MCP server): plans served, tokens injected, field recall "
        "(edited files the plan had selected), field precision (selected files then read or edited), and the "
        "tokens of reading the selected files whole. Each figure says how many events it rests on.",
    )
    sp.add_argument("--root", default=".", help="workspace root (default: the current directory)")
    sp.add_argument(
        "--since",
        type=_days,
        default=DEFAULT_SINCE_DAYS,
        metavar="DAYS",
        help=f"only plans of the last DAYS days (default {DEFAULT_SINCE_DAYS:g})",
    )
    sp.add_argument("--format", choices=("text", "json"), default="text", help="(default text)")
    sp.set_defaults(func=cmd_gain)

    sp = sub.add_parser(
        "episodes",
        help="list the plans recorded for a root and what the agent did after each (--clear deletes them)",
        description="The episode log: each plan served (time, door, task digest and first line, selected "
        "files and tokens, elapsed ms) and the files read and edited after it, newest first.",
    )
    sp.add_argument("--root", default=".", help="workspace root (default: the current directory)")
    sp.add_argument(
        "--limit", type=positive_int, default=DEFAULT_LIMIT, help=f"newest N (default {DEFAULT_LIMIT})"
    )
    sp.add_argument("--format", choices=("text", "json"), default="text", help="(default text)")
    sp.add_argument("--clear", action="store_true", help="delete every recorded episode of the root")
    sp.set_defaults(func=cmd_episodes)


def log_root(path: str) -> str:
    """The root whose log answers for `path`: `path` itself, or the innermost directory above
    it with an index database (a command run in a subdirectory of a served project)."""
    found = roots_with_logs(path)
    return found[0] if found else os.path.realpath(path)


def _open(path: str) -> EpisodeLog | None:
    if not os.path.isdir(path):
        print(f"rtk-lsp: error: root does not exist or is not a directory: {path}", file=sys.stderr)
        return None
    return EpisodeLog(log_root(path), create=False)


def cmd_gain(args: argparse.Namespace) -> int:
    episodes = _open(args.root)
    if episodes is None:
        return 2
    try:
        gain = episodes.gain(time.time() - args.since * 86400)
    finally:
        episodes.close()
    if args.format == "json":
        print(
            json.dumps(
                {"root": episodes.root, "since_days": args.since, **dataclasses.asdict(gain)}, indent=2
            )
        )
    else:
        print(render_gain(episodes.root, args.since, gain))
    return 0


def _n(value: int, word: str) -> str:
    return f"{value:,} {word}{'' if value == 1 else 's'}"


def render_gain(root: str, days: float, g: Gain) -> str:
    """The text form: each figure with what it rests on; no figure without events behind it."""
    head = f"rtk-lsp gain: {root}, the last {days:g} days"
    if g.plans == 0:
        return f'{head}\nno plans recorded (see README, "Is it helping?", for what is recorded and when)'
    observed = f"{_n(g.episodes_with_outcomes, 'episode')} with outcomes"
    whole = f"reading the {_n(g.files_selected, 'selected file')} whole"
    if g.tokens_whole_files:
        whole += f"; the plans injected {g.tokens_injected / g.tokens_whole_files:.2f} times that"
    rows = [
        ("plans served", f"{g.plans:,}", f"{_n(g.plans, 'episode')} recorded"),
        ("tokens injected", f"{g.tokens_injected:,}", "what the plans put in the agent's context"),
        ("selected files whole", f"{g.tokens_whole_files:,}", whole),
    ]
    if g.field_recall is None:
        rows.append(("field recall", "-", f"no file was edited after a plan; {observed}"))
    else:
        edited = f"{g.edited_selected:,} of {_n(g.edited_files, 'edited file')} had been selected"
        rows.append(("field recall", f"{g.field_recall:.2f}", f"{edited}; {observed}"))
    if g.field_precision is None:
        if g.episodes_with_outcomes:
            rows.append(("field precision", "-", f"the {observed} selected no file"))
        else:
            rows.append(("field precision", "-", "no file was read or edited after a plan"))
    else:
        touched = (
            f"{g.selected_touched:,} of {_n(g.selected_observed, 'selected file')} were then read or edited"
        )
        rows.append(("field precision", f"{g.field_precision:.2f}", f"{touched}; {observed}"))
    width = max(len(value) for _label, value, _note in rows)
    lines = [head, ""]
    lines.extend(f"{label:<21}{value:>{width}}   ({note})" for label, value, note in rows)
    return "\n".join(lines)


def cmd_episodes(args: argparse.Namespace) -> int:
    episodes = _open(args.root)
    if episodes is None:
        return 2
    try:
        if args.clear:
            count = episodes.clear()
            print(f"deleted {_n(count, 'episode')} of {episodes.root} (and what was seen after them)")
            return 0
        listed = episodes.episodes(limit=args.limit)
    finally:
        episodes.close()
    if args.format == "json":
        for e in listed:
            e["time"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(e["time"]))
        print(json.dumps({"root": episodes.root, "episodes": listed}, indent=2, ensure_ascii=False))
        return 0
    if not listed:
        print(f"no episodes recorded for {episodes.root}")
        return 0
    print(f"episodes of {episodes.root}, newest first")
    for e in listed:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(e["time"]))
        extra = f"  session {e['session'][:12]}" if e["session"] else ""
        confidence = f"  confidence {e['confidence']:.2f}" if e["confidence"] is not None else ""
        print(
            f"\n{when}  {e['door']}{extra}  {_n(len(e['selected']), 'file')}  "
            f"{e['tokens']:,}/{e['budget']:,} tokens{confidence}  {e['elapsed_ms']:.0f} ms"
        )
        print(f"    task: {e['task_line']}  [{e['task_digest']}]")
        if e["selected"]:
            print("    selected: " + ", ".join(s["path"] for s in e["selected"]))
        if e["read"]:
            print("    then read: " + ", ".join(e["read"]))
        if e["edited"]:
            print("    then edited: " + ", ".join(e["edited"]))
    return 0
