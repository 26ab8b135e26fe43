"""The HTTP door's commands: `rtk-lsp serve` and `rtk-lsp install-hook`.

`rtk_lsp.cli` imports this module for every command line, so it only declares arguments;
the daemon and the hook code are imported when their command runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from rtk_lsp.settings import MAX_BUDGET


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if not value >= 0:  # also NaN
        raise argparse.ArgumentTypeError(f"must be a number of seconds >= 0, got {text}")
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be in 0..65535, got {value}")
    return value


def _budget(text: str) -> int:
    value = int(text)
    if not 0 < value <= MAX_BUDGET:
        raise argparse.ArgumentTypeError(f"must be in 1..{MAX_BUDGET}, got {value}")
    return value


def register(sub: Any) -> None:
    sp = sub.add_parser(
        "serve",
        help="serve plans over HTTP on loopback (for agents and scripts)",
        description="Keep the given roots indexed and warm and answer plan requests on 127.0.0.1. "
        "The first line of stdout is 'listening on URL'; the bearer token is in the discovery file.",
    )
    sp.add_argument(
        "--root", action="append", default=None, help="a workspace root to serve (repeatable; default: .)"
    )
    sp.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="DIR",
        help="also serve, on first request, any project under DIR (repeatable)",
    )
    sp.add_argument("--port", type=_port, default=0, help="TCP port (default 0: any free port)")
    sp.add_argument(
        "--idle-timeout",
        type=_seconds,
        default=0.0,
        metavar="SECONDS",
        help="exit after this long without a request (default 0: never)",
    )
    sp.add_argument(
        "--wait-timeout",
        type=_seconds,
        default=10.0,
        metavar="SECONDS",
        help="how long a plan waits for a root's first index before answering 503 (default 10)",
    )
    sp.add_argument(
        "--max-pending",
        type=_positive_int,
        default=None,
        metavar="N",
        help="distinct plans queued or running before 503 (default 64)",
    )
    sp.add_argument("--workers", type=_positive_int, default=None, help="planning threads")
    sp.add_argument(
        "--no-watch", action="store_true", help="do not watch files (HEAD is still checked per plan)"
    )
    sp.add_argument(
        "--no-auth", action="store_true", help="accept requests without the token (testing only: unsafe)"
    )
    sp.add_argument(
        "--exclusive",
        action="store_true",
        help="exit at once if another --exclusive server serves this root (one --root only)",
    )
    sp.add_argument(
        "--max-file-size", type=_positive_int, help="bytes; larger files are indexed as metadata only"
    )
    sp.add_argument("--history-depth", type=int, help="newest commits of HEAD to learn from (default 5000)")
    sp.add_argument("--exclude", action="append", help="glob of paths to leave out (repeatable)")
    sp.set_defaults(func=cmd_serve)

    sp = sub.add_parser(
        "install-hook",
        help="add (or --uninstall) the Claude Code hook that gives sub-agents a context plan",
        description="Edit a Claude Code settings file (a backup is made first) to run rtk-lsp's "
        "PreToolUse hook on Task/Agent calls. The hook asks the project's rtk-lsp server, starting one when none runs.",
    )
    sp.add_argument("--settings", metavar="PATH", help="settings file (default ~/.claude/settings.json)")
    sp.add_argument("--uninstall", action="store_true", help="remove the hook instead")
    sp.add_argument("--budget", type=_budget, default=4000, help="tokens for the whole injected block")
    sp.add_argument("--detail", choices=("paths", "symbols", "content"), default="content")
    sp.add_argument("--command", help="the hook command to install (default: this Python, -m rtk_lsp.hook)")
    sp.set_defaults(func=cmd_install_hook)


def cmd_serve(args: argparse.Namespace) -> int:
    from rtk_lsp.server.serve import ServeConfig, run
    from rtk_lsp.settings import Settings

    roots = args.root if args.root is not None else ([] if args.allow else ["."])
    for path in [*roots, *args.allow]:
        if not os.path.isdir(path):
            print(f"rtk-lsp: error: not a directory: {path}", file=sys.stderr)
            return 2
    if args.exclusive:
        if len(roots) != 1:
            print("rtk-lsp: error: --exclusive needs exactly one --root", file=sys.stderr)
            return 2
        from rtk_lsp.server.discovery import take_lock

        # Held (by this open descriptor) until the process exits, however it exits.
        if take_lock("serve", roots[0]) is None:
            print(f"rtk-lsp serve: {os.path.realpath(roots[0])} is already served", file=sys.stderr)
            return 0
    settings = Settings()
    if args.max_file_size:
        settings = settings.replace(max_file_size=args.max_file_size)
    if args.history_depth is not None:
        settings = settings.replace(history_depth=args.history_depth)
    if args.exclude:
        settings = settings.replace(exclude=tuple(args.exclude))
    config = ServeConfig(
        roots=[os.path.realpath(r) for r in roots],
        allow=[os.path.realpath(a) for a in args.allow],
        port=args.port,
        idle_timeout=args.idle_timeout,
        wait_timeout=args.wait_timeout,
        auth=not args.no_auth,
        workers=args.workers,
        watch=not args.no_watch,
        settings=settings,
    )
    if args.max_pending:
        config.max_pending = args.max_pending
    return run(config)


def cmd_install_hook(args: argparse.Namespace) -> int:
    from rtk_lsp.hook import cmd_install_hook as install

    return install(args)
