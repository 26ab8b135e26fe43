"""`rtk-lsp mcp`: the MCP server over stdio, one warm engine for one agent session.

Roots: `--root` when given; otherwise the client's MCP roots when it offers them (asked
for once the session is initialized, and again when they change), else the git work tree
of the working directory (or the directory itself outside git). A home directory or `/` is never indexed by default: too broad to be a project.
The first index runs in the background from the start, and the roots are watched for the
agent's own edits and HEAD moves, so every call plans on the files as they are; a call that
arrives before the first index is done waits (reporting MCP progress) up to `--wait-timeout`
and then says "still indexing".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import warnings
from dataclasses import dataclass, field
from typing import Any

import mcp_types as types
from mcp.server.mcpserver.exceptions import ToolError

from rtk_lsp.engine import Engine, FolderState, exit_if_stuck
from rtk_lsp.paths import path_of
from rtk_lsp.plan.request import PlanRequest
from rtk_lsp.server.discovery import project_top, too_broad
from rtk_lsp.server.mcp.tools import build_server
from rtk_lsp.server.watch import Watcher
from rtk_lsp.settings import Settings

logger = logging.getLogger(__name__)

ROOTS_WAIT = 5.0  # seconds a call waits for the client's roots before using the working directory
ROOTS_REQUEST_TIMEOUT = 10.0
MAX_FOLDERS = 16


@dataclass
class StdioConfig:
    root: str | None = None  # None: the client's roots, else the working directory
    wait_timeout: float = 10.0
    settings: Settings = field(default_factory=Settings)


class StdioBackend:
    """Roots and waiting for one stdio session; plans go straight to the engine (one client)."""

    def __init__(self, engine: Engine, config: StdioConfig, watcher: Watcher) -> None:
        self._engine = engine
        self._config = config
        self._watcher = watcher
        self._roots_ready = asyncio.Event()
        self._client_roots: list[str] = []
        self._asking: asyncio.Task[None] | None = None
        self.roots_from = "--root"
        if config.root is not None:
            self._add(config.root)
            self._roots_ready.set()

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def wait_timeout(self) -> float:
        return self._config.wait_timeout

    async def folder(self, root: str | None) -> FolderState:
        if root is not None:
            return self._explicit(root)
        if not self._roots_ready.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._roots_ready.wait(), ROOTS_WAIT)
            if not self._roots_ready.is_set():
                self._use_cwd("the client sent no roots in time")
        folders = self._engine.folders()
        if not folders:
            raise ToolError(
                f"no workspace to plan in: the working directory {os.getcwd()} is too broad to index. "
                "Pass root (an absolute path of the project), or start the server with --root DIR."
            )
        return folders[0]

    def _explicit(self, root: str) -> FolderState:
        path = path_of(root)
        if path is None or not os.path.isabs(path):
            raise ToolError(f"root: must be an absolute path, got {root!r}")
        real = os.path.realpath(path)
        found = self._engine.folder_for(real)
        if found is not None:
            return found
        if not os.path.isdir(real):
            raise ToolError(f"root: {root} is not a directory")
        if too_broad(real):
            raise ToolError(f"root: {root} is too broad to index; give the project's directory")
        if len(self._engine.folders()) >= MAX_FOLDERS:
            raise ToolError(f"root: this server already indexes {MAX_FOLDERS} workspaces")
        return self._add(real)

    def _add(self, root: str) -> FolderState:
        """Index a root and keep it warm: the agent edits files as it goes."""
        folder = self._engine.add_folder(root)
        self._watcher.watch(folder.root)
        return folder

    def admit(self, folder: FolderState, request: PlanRequest) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    # ---- the client's roots -----------------------------------------------------------------------

    async def watch_roots(self, ctx: Any, call_next: Any) -> Any:
        """Middleware: once the session is initialized (or its roots change), learn the roots."""
        result = await call_next(ctx)
        asks = ctx.method in ("notifications/initialized", "notifications/roots/list_changed")
        # Not awaited here: the answer to roots/list arrives on the connection this handler holds.
        if asks and self._config.root is None and (self._asking is None or self._asking.done()):
            self._asking = asyncio.create_task(self._ask_roots(ctx.session), name="mcp roots")
        return result

    async def _ask_roots(self, session: Any) -> None:
        capabilities = session.client_capabilities
        if capabilities is None or capabilities.roots is None:
            self._use_cwd("the client offers no roots")
            return
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # roots are deprecated in the newest protocol only
                answer: types.ListRootsResult = await asyncio.wait_for(
                    session.list_roots(), ROOTS_REQUEST_TIMEOUT
                )
        except Exception as exc:
            logger.warning("asking the client for its roots failed: %s", exc)
            self._use_cwd("the client did not list its roots")
            return
        paths = [p for p in (path_of(str(r.uri)) for r in answer.roots) if p and os.path.isdir(p)]
        usable = [os.path.realpath(p) for p in paths if not too_broad(os.path.realpath(p))]
        if not usable:
            self._use_cwd("the client's roots are not local project directories")
            return
        for gone in set(self._client_roots) - set(usable):
            self._engine.remove_folder(gone)
        for path in usable[:MAX_FOLDERS]:
            self._add(path)
        self._client_roots = usable
        self.roots_from = "client roots"
        self._roots_ready.set()

    def _use_cwd(self, why: str) -> None:
        if self._roots_ready.is_set():
            return
        cwd = project_top(os.getcwd())
        if too_broad(cwd):
            logger.warning("%s, and the working directory %s is too broad to index", why, cwd)
            self.roots_from = "none (working directory too broad)"
        else:
            self._add(cwd)
            self.roots_from = "working directory"
        self._roots_ready.set()


async def serve_stdio(engine: Engine, config: StdioConfig) -> int:
    watcher = Watcher(engine)
    backend = StdioBackend(engine, config, watcher)
    server = build_server(backend, middleware=[backend.watch_roots])
    try:
        await server.run_stdio_async()
    finally:
        await watcher.close()
        await engine.close()
    exit_if_stuck(engine, 0)  # do not linger after the client is gone
    return 0


def run(config: StdioConfig) -> int:
    return asyncio.run(serve_stdio(Engine(config.settings), config))
