"""Fire-and-forget asyncio tasks that are neither lost nor silent."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

__all__ = ["BackgroundTasks", "describe"]

logger = logging.getLogger(__name__)


def describe(exc: BaseException) -> str:
    """An exception in one line: its type and message."""
    return f"{type(exc).__name__}: {exc}"


class BackgroundTasks:
    """Fire-and-forget tasks: kept referenced (asyncio holds only weak ones), logged when they
    fail, cancelled together on shutdown. The engine and the LSP server each keep one."""

    def __init__(self, expected: tuple[type[BaseException], ...] = ()) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._expected = expected  # failures that are part of normal shutdown, not worth a log

    def spawn(
        self, coro: Awaitable[Any], name: str, loop: asyncio.AbstractEventLoop | None = None
    ) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro, loop=loop)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None and not isinstance(exc, self._expected):
            logger.error("background task %s failed: %s", task.get_name(), describe(exc), exc_info=exc)

    def cancel_all(self) -> list[asyncio.Task[Any]]:
        """Cancel what is still running; returns those tasks so the caller may await them."""
        pending = [t for t in self._tasks if not t.done()]
        for task in pending:
            task.cancel()
        return pending
