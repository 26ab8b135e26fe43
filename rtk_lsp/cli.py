"""The command line: `rtk-lsp index | plan | demo | lsp | mcp | serve | install-mcp | install-hook |
gain | episodes | cache`.

Each command declares its flags in `build_parser` (every flag says its default) and runs as a
`cmd_*(args) -> exit code` function. Options may be written before or after the command's name:
`main` moves those written before it to after it, where the command's own parser reads them.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import logging
import os
import shlex
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rtk_lsp import __version__, demo, gain, hook, install_mcp
from rtk_lsp.logs import condense_root
from rtk_lsp.paths import innermost
from rtk_lsp.plan.request import (
    DETAILS,
    MAX_TASK_CHARS,
    PlanRequest,
    RequestError,
    parse_budget,
    parse_detail,
    parse_task,
)
from rtk_lsp.plan.result import plan_json, to_json
from rtk_lsp.server import discovery, http_cli
from rtk_lsp.settings import (
    DEFAULT_BUDGET,
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
    task = result["task"].strip()
    first = task.splitlines()[0] if task else ""
    more = f"  ({len(task):,} characters)" if first != task else ""
    lines = [
        f"task: {first}{more}",
        f"confidence: {result['confidence']:.2f}  {result['verdict']}",
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


# How a plan is printed, by `--format`.
PLAN_FORMATS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "text": _format_text,
    "markdown": lambda result: str(result["context"]).rstrip("\n"),
    "json": plan_json,
    "paths": lambda result: "\n".join(f["rel_path"] for f in result["selected"]),
}

# A plan computed in this process that takes longer than this (seconds) suggests a server, in one
# line on stderr. RTK_LSP_SERVER_HINT_AFTER sets another number of seconds, or `off`.
SERVER_HINT_AFTER = 2.0
SERVER_HINT_ENV = "RTK_LSP_SERVER_HINT_AFTER"
# Seconds `--daemon` waits for the server it started to answer: a guard against a hang, long
# enough for a first index of a large workspace on a loaded machine, never a deadline to race.
DAEMON_WAIT = 600.0


def cmd_plan(args: argparse.Namespace) -> int:
    try:
        # `-` reads the task from stdin: an issue with its tracebacks is longer than a command line takes
        task = parse_task(sys.stdin.read(MAX_TASK_CHARS + 1) if args.task == "-" else args.task)
        budget = parse_budget(args.budget, DEFAULT_BUDGET, "--budget")
        detail = parse_detail(args.detail, "--detail")
    except RequestError as e:
        raise UsageError(str(e)) from e
    root = _root(args.root)
    request = PlanRequest(task, budget, detail)
    # A running server answers with its own settings; flags that change the index need our own.
    own_index = args.no_server or index_flags_given(args)
    if args.daemon and own_index:
        raise UsageError("--daemon plans through a server: it does not go with --no-server or index flags")
    result = None
    if not own_index:
        # Only a plan of this very root: a server of a directory above it would answer for that
        # directory, and the answer would depend on whether a server runs.
        result = discovery.plan_via_running_server(root, request, exact=True)
        if result is None and args.daemon:
            result = _plan_via_daemon(os.path.realpath(root), request)
    if result is None:
        from rtk_lsp.planning import plan_root  # heavy: see cmd_index

        started = time.monotonic()
        with _Progress() as progress:
            result = to_json(
                plan_root(root, request, settings_from_args(args), progress=progress, door="cli")
            )
        hint_after = _server_hint_after()
        seconds = time.monotonic() - started
        if not args.no_server and hint_after is not None and seconds > hint_after:
            print(_server_hint(os.path.realpath(root), seconds), file=sys.stderr)
    print(PLAN_FORMATS[args.format](result))
    return 0


def _server_hint_after() -> float | None:
    raw = os.environ.get(SERVER_HINT_ENV, "").strip()
    if raw.lower() == "off":
        return None
    try:
        value = float(raw)
    except ValueError:
        return SERVER_HINT_AFTER
    return value if value >= 0 else SERVER_HINT_AFTER


def _server_hint(root: str, seconds: float) -> str:
    """One line that says how the next plan of `root` gets faster."""
    for server in discovery.servers_for(root):
        served = innermost(root, server.roots, str)
        if served is not None:
            return (
                f"rtk-lsp: planned in {seconds:.1f} s in this process; the server running for {served} "
                f"answers --root {shlex.quote(served)} warm"
            )
    return (
        f"rtk-lsp: planned in {seconds:.1f} s without a server; `rtk-lsp serve --root {shlex.quote(root)}` "
        "keeps the index warm (or add --daemon to start one in the background)"
    )


def _plan_via_daemon(root: str, request: PlanRequest) -> dict[str, Any] | None:
    """The plan from a server for `root` started in the background (as the Claude Code hook does);
    None if it does not answer, with one line on stderr that says so."""
    if discovery.too_broad(root):
        raise UsageError(f"--daemon: {root} is too broad to serve (the home directory or above)")
    pid = hook.start_server(root)
    if pid is not None:
        print(
            f"rtk-lsp: started `rtk-lsp serve` for {root} in the background (pid {pid}); "
            f"it exits after {hook.IDLE_TIMEOUT // 60} minutes without a request",
            file=sys.stderr,
        )
    deadline = time.monotonic() + DAEMON_WAIT
    while time.monotonic() < deadline:
        server = next((s for s in discovery.servers_for(root) if s.may_answer_as_root(root)), None)
        if server is None:
            if not discovery.lock_held("serve", root):
                break  # it is not starting (any more): its log says why
            time.sleep(0.05)
            continue
        try:
            result = discovery.plan_from(server, root, request)
        except discovery.ServerError as exc:
            if exc.status == 503:  # still indexing (the request waited for it), or busy
                time.sleep(0.1)
                continue
            log.debug("server %s did not plan: %s", server.url, exc)
            break
        except (OSError, ValueError, http.client.HTTPException) as exc:
            log.debug("server %s did not plan: %s", server.url, exc)
            break
        if result.get("root") == root:
            return result
        break
    print(
        f"rtk-lsp: the server for {root} did not answer (its log is in {discovery.discovery_dir()}); "
        "planning in this process",
        file=sys.stderr,
    )
    return None


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
    # In this process: a hint to start a server for the example's copy would be no help.
    plan_args = build_parser().parse_args(["plan", args.task, "--root", root, "--no-server"])
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
        epilog="Options may come before or after the command: `rtk-lsp -v plan TASK` is "
        "`rtk-lsp plan TASK -v`. `rtk-lsp COMMAND -h` lists a command's options.",
    )
    p.add_argument("--version", action="version", version=f"rtk-lsp {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--root", default=".", help="workspace root (default: the current directory)")
        add_index_arguments(sp)

    sp = sub.add_parser("index", help="build or refresh the index and print what it holds")
    common(sp)
    sp.add_argument("--format", choices=("text", "json"), default="text", help="(default text)")
    sp.add_argument("--full", action="store_true", help="re-read every file, ignoring the cache")
    sp.set_defaults(func=cmd_index)

    sp = sub.add_parser("plan", help="plan the context for a task")
    sp.add_argument("task", nargs="?", help="the task, in words; `-` reads it from stdin")
    common(sp)
    sp.add_argument(
        "--budget",
        type=int,
        default=DEFAULT_BUDGET,
        metavar="TOKENS",
        help=f"tokens for the plan's context; 0 means the default (default {DEFAULT_BUDGET})",
    )
    sp.add_argument(
        "--detail",
        choices=DETAILS,
        default="symbols",
        help="paths: the files; symbols: also why, and their relevant definitions with line ranges; "
        "content: also the source of those definitions (default symbols)",
    )
    sp.add_argument(
        "--format",
        choices=tuple(PLAN_FORMATS),
        default="text",
        help="text: for people; markdown: the context, ready to paste into a prompt; json: the plan "
        "object (as HTTP and LSP return it); paths: the selected paths, one a line (default text)",
    )
    sp.add_argument(
        "--no-server", action="store_true", help="compute in this process even if a server serves the root"
    )
    sp.add_argument(
        "--daemon",
        action="store_true",
        help="when no server serves the root, start `rtk-lsp serve` for it in the background (it exits "
        f"after {hook.IDLE_TIMEOUT // 60} minutes without a request) and plan through it",
    )
    sp.set_defaults(func=cmd_plan)

    sp = sub.add_parser("lsp", help="run the language server on stdio")
    sp.add_argument(
        "--tcp", metavar="HOST:PORT", help="listen on TCP instead, for debugging (default: stdio)"
    )
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
        description="Serve the plan_context, expand, find_symbol, workspace_status and report_outcome tools over MCP "
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
    sp.add_argument("--client", required=True, choices=tuple(install_mcp.CLIENT), help="the agent (required)")
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
    gain.register(sub)

    sp = sub.add_parser(
        "install-hook",
        help="add (or --uninstall) the Claude Code hook that gives sub-agents a context plan",
        description="Edit a Claude Code settings file (a backup is made first) to run rtk-lsp's "
        "PreToolUse hook on Task/Agent calls. The hook asks the project's rtk-lsp server, starting one "
        "when none runs.",
    )
    sp.add_argument("--settings", metavar="PATH", help="settings file (default ~/.claude/settings.json)")
    sp.add_argument("--uninstall", action="store_true", help="remove the hook instead")
    sp.add_argument(
        "--budget",
        type=_budget,
        default=DEFAULT_BUDGET,
        metavar="TOKENS",
        help=f"tokens for the whole injected block; 0 means the default (default {DEFAULT_BUDGET})",
    )
    sp.add_argument("--detail", choices=DETAILS, default=hook.DEFAULT_DETAIL, help="(default content)")
    sp.add_argument("--command", help="the hook command to install (default: this Python, -m rtk_lsp.hook)")
    sp.add_argument(
        "--no-outcomes",
        action="store_true",
        help="PreToolUse only: do not record which files the agent reads and edits after a plan",
    )
    sp.set_defaults(func=hook.cmd_install_hook)

    sp = sub.add_parser(
        "cache",
        help="show (--stats) or trim (--prune) the machine-wide content store",
        description="The content store holds what parsing produced, by content, for every workspace, "
        "branch and worktree on this machine, and commits by id. A budget bounds it "
        "(RTK_LSP_CACHE_BUDGET_MB, default 1024); least recently used rows go first.",
    )
    what = sp.add_mutually_exclusive_group()
    what.add_argument("--stats", action="store_true", help="print rows and bytes by kind (the default)")
    what.add_argument(
        "--prune", action="store_true", help="delete least recently used rows down to --budget-mb"
    )
    sp.add_argument(
        "--budget-mb", type=float, metavar="MB", help="what --prune trims to (default: the store's budget)"
    )
    sp.add_argument("--format", choices=("text", "json"), default="text", help="(default text)")
    sp.set_defaults(func=cmd_cache)

    for command in sub.choices.values():
        command.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    return p


def cmd_cache(args: argparse.Namespace) -> int:
    from rtk_lsp.index.content import ContentStore

    if args.budget_mb is not None and (not args.prune or args.budget_mb < 0):
        print("rtk-lsp cache: --budget-mb takes a number >= 0, with --prune", file=sys.stderr)
        return 2
    store = ContentStore()
    try:
        pruned = None
        if args.prune:
            budget = None if args.budget_mb is None else int(args.budget_mb * 2**20)
            pruned = store.prune(budget)
        stats = store.stats()
    finally:
        store.close()
    if pruned is not None:
        stats["pruned"] = {"rows": pruned[0], "bytes": pruned[1]}
    if args.format == "json":
        print(json.dumps(stats, indent=2))
        return 0
    print(f"content store: {stats['path']}")
    print(f"  {stats['bytes'] / 2**20:.1f} MB of rows (budget {stats['budget_bytes'] / 2**20:.0f} MB)")
    for kind, entry in sorted(stats["kinds"].items()):
        print(f"  {kind}: {entry['rows']} rows, {entry['bytes'] / 2**20:.1f} MB")
    if pruned is not None:
        print(f"  pruned {pruned[0]} rows, {pruned[1] / 2**20:.1f} MB")
    if stats["note"]:
        print(f"  note: {stats['note']}")
    return 0


def _budget(text: str) -> int:
    try:
        return parse_budget(int(text), DEFAULT_BUDGET)
    except RequestError as e:
        raise argparse.ArgumentTypeError(e.message) from None


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            commands: dict[str, argparse.ArgumentParser] = action.choices
            return commands
    return {}


def options_after_command(parser: argparse.ArgumentParser, argv: Sequence[str]) -> list[str]:
    """`rtk-lsp -v --root X plan T` read as `rtk-lsp plan -v --root X T`: the options written
    before the command move after it, where its parser takes them or says it does not know them.
    The program's own options (--help, --version) stay where they are."""
    commands = _commands(parser)
    takes_value = {
        option
        for command in commands.values()
        for action in command._actions
        if action.nargs != 0
        for option in action.option_strings
    }
    own = {option for action in parser._actions for option in action.option_strings}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in commands:
            return [arg, *argv[:i], *argv[i + 1 :]]
        if arg in own or arg == "--" or not arg.startswith("-"):
            break
        i += 2 if arg in takes_value else 1
    return list(argv)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(options_after_command(parser, sys.argv[1:] if argv is None else argv))
    except SystemExit as e:  # argparse already printed its one-line error
        return int(e.code or 0) if isinstance(e.code, int) else 2
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="rtk-lsp: %(levelname)s %(name)s: %(message)s",
    )
    condense_root()
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
    finally:
        _stop_resource_tracker()


def _stop_resource_tracker() -> None:
    """multiprocessing's resource tracker (started with the parser workers) outlives this
    process by a moment, until it notices we are gone: end it first, leaving nothing behind."""
    tracker_module = sys.modules.get("multiprocessing.resource_tracker")
    tracker = getattr(tracker_module, "_resource_tracker", None)
    stop = getattr(tracker, "_stop", None)
    if stop is not None and getattr(tracker, "_pid", None) is not None:
        with contextlib.suppress(Exception):
            stop()
