"""The HTTP door's command: `rtk-lsp serve`.

`rtk_lsp.cli` imports this module for every command line, so it only declares arguments;
the daemon (and aiohttp with it) is imported when the command runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from rtk_lsp.settings import add_index_arguments, positive_int, settings_from_args


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
        help="also serve, on first request, any project under DIR (repeatable; default none)",
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
        type=positive_int,
        default=None,
        metavar="N",
        help="distinct plans queued or running before 503 (default 64)",
    )
    sp.add_argument(
        "--workers",
        type=positive_int,
        default=None,
        metavar="N",
        help="planning threads (default: the number of CPUs + 1, at least 3 and at most 8)",
    )
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
    add_index_arguments(sp)
    sp.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    from rtk_lsp.server.serve import ServeConfig, run

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
    config = ServeConfig(
        roots=[os.path.realpath(r) for r in roots],
        allow=[os.path.realpath(a) for a in args.allow],
        port=args.port,
        idle_timeout=args.idle_timeout,
        wait_timeout=args.wait_timeout,
        auth=not args.no_auth,
        workers=args.workers,
        watch=not args.no_watch,
        settings=settings_from_args(args),
    )
    if args.max_pending:
        config.max_pending = args.max_pending
    return run(config)
