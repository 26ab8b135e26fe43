"""File watching for the long-running servers without an editor (`serve`, `mcp`).

An editor tells the language server what changed; these servers watch their roots
themselves (watchfiles: inotify on Linux) and feed the engine, which coalesces bursts into
one incremental refresh. Inside `.git` only what moves HEAD is passed on.
"""

from __future__ import annotations

import asyncio
import logging
import os

from watchfiles import awatch

from rtk_lsp.engine import Engine
from rtk_lsp.paths import git_change

logger = logging.getLogger(__name__)

WATCH_DEBOUNCE_MS = 100  # watchfiles batches events this long; the engine coalesces further


class Watcher:
    """One watchfiles task per root, feeding `engine.notify_changed` (which coalesces bursts)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._stop = asyncio.Event()
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def watch(self, root: str) -> None:
        if root in self._tasks or self._stop.is_set():
            return
        task = asyncio.create_task(self._run(root), name=f"watch {root}")
        self._tasks[root] = task

    async def _run(self, root: str) -> None:
        try:
            async for changes in awatch(
                root,
                watch_filter=lambda _change, path: git_change(path.split(os.sep)) != "noise",
                debounce=WATCH_DEBOUNCE_MS,
                stop_event=self._stop,
                ignore_permission_denied=True,
            ):
                self._engine.notify_changed(path for _change, path in changes)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # e.g. out of inotify watches: plans still check HEAD
            logger.warning("watching %s stopped: %s: %s", root, type(exc).__name__, exc)

    async def close(self) -> None:
        self._stop.set()
        tasks = list(self._tasks.values())
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=2.0)
            for task in late:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
