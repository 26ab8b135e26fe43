"""The command line: `rtk-lsp index | plan | lsp | mcp | serve | install-hook | install-mcp`."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any

from rtk_lsp import __version__, demo, hook, install_mcp
from rtk_lsp.plan.request import DETAILS, PlanRequest, RequestError, parse_budget, parse_detail, parse_task
from rtk_lsp.plan.result import plan_json, to_json
from rtk_lsp.server import discovery, http_cli
from rtk_lsp.settings import (
    DEFAULT_BUDGET,
    MAX_BUDGET,
    add_index_arguments,
    index_flags_given,
    settings_from_args,
)

log = logging.getLogger("rtk_lsp")


class UsageError(Exception):
    """A bad argument: one line on stderr, exit code 2."""


def _root(path: str) -> str:
    root = os.path.abspath(path)
    if not os.path.isdir(root):
        raise UsageError(f"root does not exist or is not a directory: {path}")
    return root


class _Progress:
    """A one-line progress bar on stderr when it is a terminal; silent otherwise."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()
        self._last = 0.0

    def __call__(self, phase: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < 0.1 and done != total:
            return
        self._last = now
        if total > 1:
            width = 30
            filled = int(width * done / total)
            bar = "#" * filled + "." * (width - filled)
            sys.stderr.write(f"\r{phase:8} [{bar}] {done}/{total}   ")
        else:
            sys.stderr.write(f"\r{phase:8} ...{' ' * 40}")
        sys.stderr.flush()

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            sys.stderr.write("\r" + " " * 60 + "\r")
            sys.stderr.flush()


def cmd_index(args: argparse.Namespace) -> int:
    # Here, not at the top: the index (SQLite, worker processes, tree-sitter) is heavy, and
    # `rtk-lsp plan` answered by a running server must stay fast.
    from rtk_lsp.planning import build_snapshot

    root = _root(args.root)
    t0 = time.perf_counter()
    with _Progress() as progress:
        snap = build_snapshot(root, settings_from_args(args), full=args.full, progress=progress)
    summary = snap.summary()
    summary["timings_ms"]["total"] = round((time.perf_counter() - t0) * 1000, 1)
    if args.format == "json":
        print(json.dumps(summary, indent=2, sort_keys=False))
        return 0
    langs = ", ".join(f"{k} {v}" for k, v in summary["languages"].items())
    hist = summary["history"]
    print(f"root       {summary['root']}")
    print(f"files      {summary['files']} ({langs})")
    print(f"symbols    {summary['symbols']}   references {summary['references']}")
    print(f"edges      imports {summary['edges']['imports']}   calls {summary['edges']['calls']}")
    print(
        f"history    {hist['commits']} commits at {hist['head'] or '-'}"
        + (f" ({hist['note']})" if hist["note"] else "")
    )
    print(f"cache      hits {summary['cache']['hits']}   misses {summary['cache']['misses']}")
    print("timings    " + "   ".join(f"{k} {v:.0f} ms" for k, v in summary["timings_ms"].items()))
    for note in summary["notes"]:
        print(f"note       {note}")
    return 0


def _format_text(result: Mapping[str, Any]) -> str:
    """A plan for people; it reads the plan's JSON form, as a running server sends it."""
    br = result["budget_report"]
    lines = [
        f"task: {result['task']}",
        f"intent: {result['intent']['kind']}   keywords: {', '.join(result['intent']['keywords'][:12])}",
        f"budget: {br['estimated_used']}/{br['token_budget']} tokens, "
        f"{br['candidates_selected']} of {br['candidates_total']} candidates selected",
        "",
    ]
    for i, f in enumerate(result["selected"], 1):
        lines.append(f"{i:2}. {f['rel_path']}  score {f['score']:.3f}  ~{f['estimated_tokens']} tokens")
        for reason in f["reasons"]:
            lines.append(f"      - {reason}")
        for s in f["symbols"]:
            lines.append(f"      L{s['start_line']}-{s['end_line']} {s['kind']} {s['name']}")
    if result["dropped"]:
        lines.append("")
        lines.append("left out:")
        for d in result["dropped"][:10]:
            lines.append(f"    {d['rel_path']}  score {d['score']:.3f}  ({d['reason']})")
    return "\n".join(lines)


def cmd_plan(args: argparse.Namespace) -> int:
    try:
        task = parse_task(args.task)
        budget = parse_budget(args.budget, DEFAULT_BUDGET, "--budget")
        detail = parse_detail(args.detail, "--detail")
    except RequestError as e:
        raise UsageError(str(e)) from e
    root = _root(args.root)
    request = PlanRequest(task, budget, detail)
    # A running server answers with its own settings; flags that change the index need our own.
    own_index = args.no_server or index_flags_given(args)
    result = None if own_index else discovery.plan_via_running_server(root, request)
    if result is None:
        from rtk_lsp.planning import plan_root  # heavy: see cmd_index

        with _Progress() as progress:
            result = to_json(plan_root(root, request, settings_from_args(args), progress=progress))
    if args.format == "json":
        print(plan_json(result))
    elif args.format == "paths":
        print("\n".join(f["rel_path"] for f in result["selected"]))
    else:
        print(_format_text(result))
    return 0


def cmd_lsp(args: argparse.Namespace) -> int:
    from rtk_lsp.server.lsp import run_lsp

    return run_lsp(tcp=args.tcp)


def cmd_demo(args: argparse.Namespace) -> int:
    root = demo.prepare()
    print(
        f"rtk-lsp demo: the example workspace shipped with rtk-lsp, copied to {root}\n"
        'On your own project: rtk-lsp plan "TASK" --root /path/to/project\n',
        file=sys.stderr,
    )
    plan_args = build_parser().parse_args(["plan", args.task, "--root", root])
    result: int = plan_args.func(plan_args)
    return result


def cmd_mcp(args: argparse.Namespace) -> int:
    from rtk_lsp.server.mcp.stdio import StdioConfig, run

    if not args.wait_timeout >= 0:
        raise UsageError(f"--wait-timeout must be a number of seconds >= 0, got {args.wait_timeout}")
    root = _root(args.root) if args.root is not None else None
    return run(StdioConfig(root=root, wait_timeout=args.wait_timeout, settings=settings_from_args(args)))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="rtk-lsp",
        description="Plan the context of a coding task: which files and symbols matter, "
        "within a token budget.",
    )
    p.add_argument("--version", action="version", version=f"rtk-lsp {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--root", default=".", help="workspace root (default: current directory)")
        add_index_arguments(sp)

    sp = sub.add_parser("index", help="build or refresh the index and print what it holds")
    common(sp)
    sp.add_argument("--format", choices=("text", "json"), default="text")
    sp.add_argument("--full", action="store_true", help="re-read every file, ignoring the cache")
    sp.set_defaults(func=cmd_index)

    sp = sub.add_parser("plan", help="plan the context for a task")
    sp.add_argument("task", nargs="?", help="the task, in words")
    common(sp)
    sp.add_argument("--budget", type=int, default=None, help=f"token budget (default {DEFAULT_BUDGET})")
    sp.add_argument("--detail", choices=DETAILS, default="symbols")
    sp.add_argument("--format", choices=("json", "text", "paths"), default="text")
    sp.add_argument("--no-server", action="store_true", help="compute in this process even if a server runs")
    sp.set_defaults(func=cmd_plan)

    sp = sub.add_parser("lsp", help="run the language server on stdio")
    sp.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP instead (for debugging)")
    sp.set_defaults(func=cmd_lsp)

    sp = sub.add_parser(
        "demo",
        help="plan a task on the small example workspace that ships with rtk-lsp",
        description="Copy the example workspace that ships inside the package (a 7-file shop) to the "
        "cache directory and print the plan of TASK for it, as `rtk-lsp plan TASK --root COPY` would.",
    )
    sp.add_argument(
        "task", nargs="?", default=demo.DEFAULT_TASK, help=f"the task (default: {demo.DEFAULT_TASK!r})"
    )
    sp.set_defaults(func=cmd_demo)

    sp = sub.add_parser(
        "mcp",
        help="run the MCP server on stdio (for coding agents)",
        description="Serve the plan_context, expand, find_symbol and workspace_status tools over MCP "
        "on stdin/stdout, with one warm index. The root is --root, else the client's MCP roots, "
        "else the working directory.",
    )
    sp.add_argument("--root", default=None, help="workspace root (default: the client's roots, else .)")
    sp.add_argument(
        "--wait-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="how long a call waits for the first index before answering 'still indexing' (default 10)",
    )
    add_index_arguments(sp)
    sp.set_defaults(func=cmd_mcp)

    sp = sub.add_parser(
        "install-mcp",
        help="add (or --uninstall) the rtk-lsp MCP server to a coding agent's configuration",
        description="Write the client's documented MCP configuration (a backup is made first; running it "
        "again changes nothing; --uninstall removes only the rtk-lsp entry). See docs/agents.md.",
    )
    sp.add_argument("--client", required=True, choices=tuple(install_mcp.CLIENT))
    sp.add_argument(
        "--scope",
        choices=("project", "user"),
        default="project",
        help="project: the project's own file, with --root pinned (default); user: every project",
    )
    sp.add_argument("--root", default=".", help="the project (default: the current directory)")
    sp.add_argument("--config", metavar="PATH", help="the file to edit (default: the client's, per scope)")
    sp.add_argument("--uninstall", action="store_true", help="remove the rtk-lsp entry instead")
    sp.set_defaults(func=install_mcp.cmd_install_mcp)

    http_cli.register(sub)

    sp = sub.add_parser(
        "install-hook",
        help="add (or --uninstall) the Claude Code hook that gives sub-agents a context plan",
        description="Edit a Claude Code settings file (a backup is made first) to run rtk-lsp's "
        "PreToolUse hook on Task/Agent calls. The hook asks the project's rtk-lsp server, starting one "
        "when none runs.",
    )
    sp.add_argument("--settings", metavar="PATH", help="settings file (default ~/.claude/settings.json)")
    sp.add_argument("--uninstall", action="store_true", help="remove the hook instead")
    sp.add_argument("--budget", type=_budget, default=4000, help="tokens for the whole injected block")
    sp.add_argument("--detail", choices=DETAILS, default="content")
    sp.add_argument("--command", help="the hook command to install (default: this Python, -m rtk_lsp.hook)")
    sp.set_defaults(func=hook.cmd_install_hook)
    return p


def _budget(text: str) -> int:
    value = int(text)
    if not 0 < value <= MAX_BUDGET:
        raise argparse.ArgumentTypeError(f"must be in 1..{MAX_BUDGET}, got {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse already printed its one-line error
        return int(e.code or 0) if isinstance(e.code, int) else 2
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="rtk-lsp: %(levelname)s %(name)s: %(message)s",
    )
    try:
        result: int = args.func(args)
        return result
    except UsageError as e:
        print(f"rtk-lsp: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
