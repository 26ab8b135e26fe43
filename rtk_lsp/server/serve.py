"""`rtk-lsp serve`: the standalone HTTP daemon.

It keeps the given roots warm in one `Engine` (the one the language server uses), watches
them for file changes and HEAD moves, announces itself in a discovery file, and prints
`listening on http://127.0.0.1:PORT` as the first line of stdout. SIGINT, SIGTERM or the
idle timeout end it cleanly: discovery file withdrawn, connections drained, stores closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import signal
import sys
from dataclasses import dataclass, field

from rtk_lsp.engine import Engine, FolderState, exit_if_stuck
from rtk_lsp.server.discovery import Announcement, new_token
from rtk_lsp.server.http import MAX_PENDING, HttpOptions, HttpServer
from rtk_lsp.server.watch import Watcher
from rtk_lsp.settings import Settings

logger = logging.getLogger(__name__)

IDLE_CHECK = 0.5  # seconds between idle-timeout checks


@dataclass
class ServeConfig:
    roots: list[str]
    allow: list[str] = field(default_factory=list)
    port: int = 0
    idle_timeout: float = 0.0  # seconds without a request before exiting; 0 = never
    wait_timeout: float = 10.0
    auth: bool = True
    max_pending: int = MAX_PENDING
    workers: int | None = None
    watch: bool = True
    settings: Settings = field(default_factory=Settings)


def raise_nofile_limit() -> int:
    """Lift the soft open-files limit to the hard one: a thousand clients need a thousand sockets."""
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard == resource.RLIM_INFINITY:
            hard = max(soft, 1 << 20)
        if soft < hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        return resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ValueError, OSError):
        return -1


async def serve(config: ServeConfig) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    engine = Engine(config.settings, max_workers=config.workers)
    for root in config.roots:
        engine.add_folder(root)
    watcher = Watcher(engine)

    def on_new_root(folder: FolderState) -> None:
        if config.watch:
            watcher.watch(folder.root)
        announcement.set_roots(f.root for f in engine.folders())

    token = new_token() if config.auth else None
    options = HttpOptions(
        token=token,
        wait_timeout=config.wait_timeout,
        max_pending=config.max_pending,
        allow=tuple(config.allow),
        on_new_root=on_new_root,
    )
    try:
        server = await HttpServer.start(engine, options, config.port)
    except OSError as exc:
        await engine.close()
        print(f"rtk-lsp serve: cannot listen on 127.0.0.1:{config.port}: {exc}", file=sys.stderr)
        return 1
    engine.set_http_url(server.url)
    announcement = Announcement(server.url, token, "serve", [f.root for f in engine.folders()], config.allow)
    try:
        announcement.publish()
    except OSError as exc:
        logger.warning("not discoverable (clients must be given the URL and token): %s", exc)
    try:
        print(f"listening on {server.url}", flush=True)
        if not config.auth:
            print(
                "rtk-lsp serve: WARNING: --no-auth: any local user or process can query this server",
                file=sys.stderr,
                flush=True,
            )
        if config.watch:
            for folder in engine.folders():
                watcher.watch(folder.root)
        await _run_until_stopped(stop, server, config.idle_timeout)
    finally:
        announcement.withdraw()
        await server.stop()
        await watcher.close()
        await engine.close()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    exit_if_stuck(engine, 0)  # a stuck refresh must not outlive SIGTERM
    return 0


async def _run_until_stopped(stop: asyncio.Event, server: HttpServer, idle_timeout: float) -> None:
    loop = asyncio.get_running_loop()
    door = server.door
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), IDLE_CHECK if idle_timeout > 0 else None)
        if idle_timeout > 0 and door.active == 0 and loop.time() - door.last_activity >= idle_timeout:
            logger.info("idle for %gs: exiting", idle_timeout)
            return


def run(config: ServeConfig) -> int:
    raise_nofile_limit()
    return asyncio.run(serve(config))
