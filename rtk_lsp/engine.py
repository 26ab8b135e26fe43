"""The async service behind every door (LSP and HTTP): warm folders, refreshes, plans.

One `Engine` lives per server process, on the event loop. It keeps a `FolderState` per
workspace root and runs everything CPU-heavy (indexing, refreshes, plans) on its own
thread pool, never on pygls's `thread_pool`, because pygls reads stdin through that
pool and a long index there would stall the whole connection.

Only the event loop touches engine state. Worker threads report progress back with
`loop.call_soon_threadsafe`; nothing else crosses threads except the immutable
snapshots the workers produce.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import logging
import os
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from rtk_lsp import __version__, collector
from rtk_lsp.changes import ChangeTracker, same_as_disk
from rtk_lsp.index.workspace import Workspace
from rtk_lsp.paths import path_of, resolve_dirs, roots_holding
from rtk_lsp.plan.pipeline import ReadSource
from rtk_lsp.plan.request import PlanRequest
from rtk_lsp.plan.result import Plan
from rtk_lsp.planning import plan_snapshot, source_reader
from rtk_lsp.recording import GAIN_DAYS, RECORD_WAIT, Outcome, Recorder
from rtk_lsp.settings import Settings
from rtk_lsp.tasks import BackgroundTasks, describe

__all__ = [
    "Engine",
    "EngineClosed",
    "EngineError",
    "FolderState",
    "IndexFailed",
    "IndexNotReady",
    "PlanCache",
    "Planner",
    "UnknownWorkspace",
    "WorkspaceLike",
]

logger = logging.getLogger(__name__)

ProgressFn = Callable[[str, int, int], None]
# (snapshot, request, unsaved editor text by relative path) -> the plan; the snapshot is
# whatever the workspace made
Planner = Callable[[Any, PlanRequest, Mapping[str, str]], Plan]
Listener = Callable[["FolderState", str], None]
CloseHook = Callable[[], Awaitable[None]]
T = TypeVar("T")

COALESCE_DELAY = 0.2  # seconds: a burst of file events inside this window becomes one refresh
OVERLAY_DELAY = 0.3  # seconds of typing quiet before unsaved text is re-indexed
CLOSE_GRACE = 3.0  # seconds close() waits for a refresh already running in a worker
HEAD_CHECK_TIMEOUT = 2.0  # seconds a plan waits for the HEAD check before going on without it
RESULT_CACHE = 16  # plans remembered per folder for the current snapshot generation
PROGRESS_INTERVAL = 0.05  # seconds between progress hops to the loop within one phase

_UNITS = {"scan": "files", "parse": "files", "history": "commits", "graph": "files"}
_INDEX_SETTINGS = ("exclude", "max_file_size", "history_depth")


class SnapshotLike(Protocol):
    @property
    def generation(self) -> int: ...

    @property
    def files(self) -> Mapping[str, Any]: ...

    def summary(self) -> dict[str, Any]: ...

    def prepare(self, then: Callable[[], None]) -> bool: ...


class WorkspaceLike(Protocol):
    @property
    def root(self) -> str: ...

    @property
    def snapshot(self) -> SnapshotLike | None: ...

    def refresh(
        self, *, paths: Iterable[str] | None = None, full: bool = False, progress: ProgressFn | None = None
    ) -> SnapshotLike: ...

    def set_overlay(self, rel_path: str, text: str | None) -> None: ...

    def head_changed(self) -> bool: ...

    def update_settings(self, settings: Settings) -> None: ...

    def close(self) -> None: ...


WorkspaceFactory = Callable[[str, Settings], WorkspaceLike]


class EngineError(Exception):
    """A failure a door reports to its client as a request error."""


class UnknownWorkspace(EngineError):
    pass


class IndexNotReady(EngineError):
    def __init__(self, message: str, progress: dict[str, Any]) -> None:
        super().__init__(message)
        self.progress = progress


class IndexFailed(EngineError):
    pass


class EngineClosed(EngineError):
    """Raised inside a worker's progress callback to abandon a refresh nobody will read."""


class PlanCache:
    """One folder's plans: the last few answers on its current snapshot, and those in flight.

    Identical requests on one snapshot share one computation; the answers are read-only.
    """

    def __init__(self) -> None:
        self._generation: int | None = None  # of the folder's current snapshot
        self._answers: OrderedDict[tuple[int, PlanRequest], Plan] = OrderedDict()
        self._running: dict[tuple[int, PlanRequest], asyncio.Future[Plan]] = {}
        self.hits = 0  # answered from the cache or from an identical plan in flight
        self.misses = 0

    async def answer(
        self, generation: int, request: PlanRequest, compute: Callable[[], asyncio.Future[Plan]]
    ) -> Plan:
        key = (generation, request)
        cached = self._answers.get(key)
        if cached is not None:
            self.hits += 1
            self._answers.move_to_end(key)
            return cached
        shared = self._running.get(key)
        if shared is None:
            self.misses += 1
            shared = compute()
            self._running[key] = shared
            shared.add_done_callback(lambda fut: self._done(key, fut))
        else:
            self.hits += 1
        # shield: one client cancelling its request must not cancel the others' shared plan
        return await asyncio.shield(shared)

    def _done(self, key: tuple[int, PlanRequest], fut: asyncio.Future[Plan]) -> None:
        self._running.pop(key, None)
        if fut.cancelled() or fut.exception() is not None:
            if not fut.cancelled():
                fut.exception()  # mark retrieved: every waiter may have gone away
            return
        if key[0] != self._generation:
            return  # computed on a snapshot a refresh has replaced since
        self._answers[key] = fut.result()
        while len(self._answers) > RESULT_CACHE:
            self._answers.popitem(last=False)

    def renew(self, generation: int) -> None:
        """A refresh made the snapshot of `generation`: the answers kept are stale (those in flight
        still finish for their waiters)."""
        self._generation = generation
        self._answers.clear()


@dataclass(eq=False)
class FolderState:
    root: str
    uri: str
    workspace: WorkspaceLike | None
    ready: asyncio.Future[None]  # done once the first index finished, well or not
    changes: ChangeTracker
    state: str = "indexing"  # "indexing" | "ready" | "failed"
    phase: str = ""
    done: int = 0
    total: int = 0
    error: str | None = None
    started: float = field(default_factory=time.monotonic)
    index_ms: float | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one refresh at a time, in order
    index_task: asyncio.Task[None] | None = None
    running: concurrent.futures.Future[Any] | None = None  # the refresh a worker is running now
    head_check: concurrent.futures.Future[bool] | None = None  # reading .git/HEAD in a worker
    preparing: concurrent.futures.Future[None] | None = None  # a new snapshot's lookups, in a worker
    plans: PlanCache = field(default_factory=PlanCache)
    refreshes: int = 0
    removed: bool = False
    refreshing: bool = False  # an explicit refresh() runs: plans read the current snapshot meanwhile

    def progress(self) -> dict[str, Any]:
        return {"phase": self.phase, "done": self.done, "total": self.total}

    def progress_text(self) -> str:
        if not self.phase:
            return "starting"
        unit = _UNITS.get(self.phase, "")
        if self.total > 1:
            return f"{self.phase} {self.done}/{self.total} {unit}".rstrip()
        return self.phase


def _root(folder: FolderState) -> str:
    return folder.root


class Engine:
    def __init__(
        self,
        settings: Settings | None = None,
        *,
        workspace_factory: WorkspaceFactory | None = None,
        planner: Planner | None = None,
        max_workers: int | None = None,
        coalesce_delay: float = COALESCE_DELAY,
        overlay_delay: float = OVERLAY_DELAY,
    ) -> None:
        self._settings = settings or Settings()
        self._workspace_factory: WorkspaceFactory = workspace_factory or Workspace
        self._planner = planner or self._plan_snapshot
        # Enough threads that a plan never queues behind two folders' cold indexes.
        workers = max_workers or max(3, min(8, (os.cpu_count() or 2) + 1))
        self._executor = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="rtk-engine")
        self._coalesce_delay = coalesce_delay
        self._overlay_delay = overlay_delay
        self._folders: dict[str, FolderState] = {}
        self._background = BackgroundTasks(expected=(EngineClosed,))
        self._listeners: list[Listener] = []
        self._close_hooks: list[CloseHook] = []
        self._http_url: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing = False  # read by worker threads: a plain bool is enough
        self._closed = False
        self._recorder = Recorder(lambda: self._settings.episodes)

    # ---- configuration ------------------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        return self._settings

    def set_http_url(self, url: str | None) -> None:
        self._http_url = url

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener(folder, event)` on the loop.

        Events: "progress", "ready" (first index done), "refreshed", "failed", "removed".
        """
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def on_close(self, hook: CloseHook) -> None:
        """Run `hook` first thing in `close()` (the HTTP door stops its listener this way)."""
        self._close_hooks.append(hook)

    def update_settings(self, settings: Settings) -> None:
        old, self._settings = self._settings, settings
        reindex = any(getattr(old, name) != getattr(settings, name) for name in _INDEX_SETTINGS)
        for folder in self._folders.values():
            if folder.workspace is not None and folder.index_task is None and not folder.ready.done():
                folder.workspace.update_settings(settings)  # not indexing yet: nothing to redo
                continue
            self._run_task(self._apply_settings(folder, settings, reindex), f"settings {folder.root}")

    async def _apply_settings(self, folder: FolderState, settings: Settings, reindex: bool) -> None:
        if folder.workspace is None:
            return
        await folder.ready
        async with folder.lock:
            if folder.removed:
                return
            folder.workspace.update_settings(settings)
            if reindex:
                # Only a scan drops files a new exclude pattern or size cap now rules out.
                folder.changes.rescan()
                await self._flush_locked(folder)

    # ---- folders ------------------------------------------------------------------------------

    def folders(self) -> list[FolderState]:
        """In the order they were added (the client's order: the first is the default)."""
        return list(self._folders.values())

    def add_folder(self, root: str, uri: str | None = None, *, start: bool = True) -> FolderState:
        """Register a workspace root (idempotent); its first index starts now unless `start` is False."""
        loop = self._get_loop()
        real = os.path.realpath(root)
        existing = self._folders.get(real)
        if existing is not None:
            return existing
        workspace: WorkspaceLike | None = None
        error: str | None = None
        try:
            workspace = self._workspace_factory(real, self._settings)
        except Exception as exc:
            error = describe(exc)
            logger.error("cannot open workspace %s: %s", real, error)
        changes = ChangeTracker(
            real,
            loop,
            lambda: self._refresh_due(real),
            coalesce_delay=self._coalesce_delay,
            overlay_delay=self._overlay_delay,
        )
        folder = FolderState(
            root=real,
            uri=uri or Path(real).as_uri(),
            workspace=workspace,
            ready=loop.create_future(),
            changes=changes,
        )
        self._folders[real] = folder
        if workspace is None:
            folder.state, folder.error = "failed", error
            folder.ready.set_result(None)
        elif start:
            self.start_indexing(folder)
        return folder

    def start_indexing(self, folder: FolderState) -> None:
        if folder.index_task is None and folder.workspace is not None and not folder.ready.done():
            folder.started = time.monotonic()
            folder.index_task = self._run_task(self._initial_index(folder), f"index {folder.root}")

    def remove_folder(self, root: str) -> FolderState | None:
        folder = self._lookup(root)
        if folder is None:
            return None
        del self._folders[folder.root]
        folder.removed = True
        folder.changes.close()
        if not folder.ready.done():
            folder.ready.set_result(None)  # wakes waiting plans, which then see `removed`
        self._emit(folder, "removed")
        self._run_task(self._close_folder(folder), f"close {folder.root}")
        return folder

    def folder_for(self, path_or_uri: str) -> FolderState | None:
        """The innermost folder containing a path or file URI (a folder's own root included)."""
        found = self._containing(path_or_uri)
        return found[0] if found else None

    def _containing(self, path_or_uri: str) -> list[FolderState]:
        path = path_of(path_or_uri)
        if path is None:
            return []
        return roots_holding(resolve_dirs(path), self._folders.values(), _root)

    def _lookup(self, root_or_uri: str) -> FolderState | None:
        folder = self._folders.get(root_or_uri)
        if folder is not None:
            return folder
        for f in self._folders.values():
            if f.uri == root_or_uri:
                return f
        path = path_of(root_or_uri)
        return self._folders.get(os.path.realpath(path)) if path else None

    def resolve(self, folder: FolderState | str) -> FolderState:
        if isinstance(folder, FolderState):
            if folder.removed:
                raise UnknownWorkspace(f"workspace {folder.uri} was removed")
            return folder
        found = self._lookup(folder) or self.folder_for(folder)
        if found is None:
            raise UnknownWorkspace(f"unknown workspace {folder!r}")
        return found

    # ---- plans --------------------------------------------------------------------------------

    async def current(
        self, folder: FolderState | str, timeout: float | None = None
    ) -> tuple[FolderState, SnapshotLike]:
        """The folder's snapshot after its first index and every pending change.

        Waits up to `timeout` seconds (default: settings.plan_timeout) for the first index,
        then raises IndexNotReady with the progress.
        """
        self._check_open()
        state = self.resolve(folder)
        wait = self._settings.plan_timeout if timeout is None else timeout
        if not state.ready.done():
            try:
                await asyncio.wait_for(asyncio.shield(state.ready), wait)
            except TimeoutError:
                raise IndexNotReady(
                    f"still indexing {state.root}: {state.progress_text()} (waited {wait:g}s)",
                    state.progress(),
                ) from None
        if state.removed:
            raise UnknownWorkspace(f"workspace {state.uri} was removed")
        if not state.refreshing:  # a long re-scan must not hold readers up (HTTP /v1/refresh)
            await self.catch_up(state)
        workspace = state.workspace
        snapshot = workspace.snapshot if workspace is not None else None
        if snapshot is None:
            raise IndexFailed(f"indexing {state.root} failed: {state.error or 'no index'}")
        return state, snapshot

    async def query(
        self,
        folder: FolderState | str,
        fn: Callable[[Any, ReadSource], T],
        timeout: float | None = None,
    ) -> T:
        """`fn(snapshot, read_source)` on the current snapshot, run on the engine's pool.

        For read-only look-ups beside plans (the MCP server's expand and find_symbol).
        """
        state, snapshot = await self.current(folder, timeout)
        read = source_reader(state.root, self._settings.max_file_size, state.changes.overlays)
        running = self._submit(fn, snapshot, read)
        result: T = await asyncio.wrap_future(running, loop=self._get_loop())
        return result

    async def plan(
        self,
        folder: FolderState | str,
        request: PlanRequest,
        timeout: float | None = None,
        *,
        door: str | None = None,
        session: str | None = None,
    ) -> Plan:
        """Plan on the folder's current snapshot, after catching up with pending changes.

        Waits up to `timeout` seconds (default: settings.plan_timeout) for the first index.
        Identical requests on the same snapshot share one computation; the caller must treat
        the result as read-only. A plan served through a `door` is recorded (unless
        `rtk.episodes.enabled` is off); one with a `session` (a client that will report what
        its agent did next, maybe from another process) answers once its episode is written,
        or after RECORD_WAIT seconds.
        """
        started = time.perf_counter()
        state, snapshot = await self.current(folder, timeout)
        overlays = dict(state.changes.overlays)

        def compute() -> asyncio.Future[Plan]:
            job = self._submit(self._planner, snapshot, request, overlays)
            return asyncio.wrap_future(job, loop=self._get_loop())

        result = await state.plans.answer(snapshot.generation, request, compute)
        if door is not None:
            elapsed = (time.perf_counter() - started) * 1000
            written = self._recorder.plan(state.root, result, snapshot.files, door, session, elapsed)
            if session is not None:
                await _bounded(written)
        return result

    async def record_outcome(
        self,
        folder: FolderState | str,
        session: str,
        source: str,
        *,
        read: Iterable[str] = (),
        edited: Iterable[str] = (),
    ) -> Outcome | None:
        """Attach what an agent read and edited to its session's latest plan in the folder.

        None when recording is off, the folder is gone, or the writer did not answer within
        RECORD_WAIT seconds: recording never fails the call it comes with.
        """
        try:
            state = self.resolve(folder)
        except EngineError:
            return None
        outcome = await _bounded(self._recorder.outcomes(state.root, session, source, read, edited))
        return outcome

    async def status_with_gain(self, days: float = GAIN_DAYS) -> dict[str, Any]:
        """`status()` with each folder's recorded figures of the last `days` under "episodes"."""
        status = self.status()
        since = time.time() - days * 86400
        for entry in status["folders"]:
            entry["episodes"] = {"enabled": self._recorder.enabled, "days": days, "gain": None, "error": None}
            answer = await _bounded(self._recorder.gain(entry["root"], since))
            if answer is not None:
                gain, error = answer
                entry["episodes"].update(gain=dataclasses.asdict(gain), error=error)
        return status

    def _plan_snapshot(self, snapshot: Any, request: PlanRequest, overlays: Mapping[str, str]) -> Plan:
        return plan_snapshot(snapshot, request, max_file_size=self._settings.max_file_size, overlays=overlays)

    # ---- refreshes ----------------------------------------------------------------------------

    async def refresh(self, folder: FolderState | str, full: bool = True) -> dict[str, Any]:
        """Re-scan a folder now (re-hashing everything when `full`); returns its status entry."""
        self._check_open()
        state = self.resolve(folder)
        if state.workspace is None:
            return self.folder_status(state)
        state.changes.promote_overlays()
        async with state.lock:
            if not state.removed:
                state.changes.take()  # a full scan covers every change noted so far
                state.refreshing = True
                try:
                    await self._run_refresh(state, None, full)
                finally:
                    state.refreshing = False
        if not state.ready.done():
            state.ready.set_result(None)
        return self.folder_status(state)

    async def catch_up(self, folder: FolderState) -> None:
        """Apply unsaved edits, pending file events and a moved HEAD before reading the snapshot."""
        folder.changes.promote_overlays()
        async with folder.lock:
            await self._flush_locked(folder)

    def notify_changed(self, paths: Iterable[str]) -> None:
        """Files (or URIs) changed on disk: coalesced into one targeted refresh per folder."""
        if self._closing:
            return
        for item in paths:
            path = path_of(item)
            if path is None:
                continue
            for folder in self._containing(path):
                folder.changes.file_changed(resolve_dirs(path))

    def set_overlay(self, path_or_uri: str, text: str | None) -> None:
        """Unsaved editor text for a file (None drops it); re-indexed after a short quiet period."""
        if self._closing:
            return
        path = path_of(path_or_uri)
        if path is None:
            return
        real = resolve_dirs(path)
        for folder in self._containing(real):
            if folder.changes.set_overlay(real, text) and text is not None:
                self._run_task(self._forget_if_on_disk(folder, real, text), f"compare {real}")

    async def _forget_if_on_disk(self, folder: FolderState, path: str, text: str) -> None:
        # In a worker: the file may sit on a hung mount, and the loop must never wait on one.
        if await asyncio.wrap_future(self._submit(same_as_disk, path, text), loop=self._get_loop()):
            folder.changes.forget_unchanged(path, text)

    def _refresh_due(self, root: str) -> None:
        folder = self._folders.get(root)
        if folder is not None and not self._closing:
            self._run_task(self._flush(folder), f"refresh {folder.root}")

    async def _flush(self, folder: FolderState) -> None:
        await folder.ready  # the first index is running; it may or may not have seen the change
        async with folder.lock:
            if not folder.removed:
                await self._flush_locked(folder)

    async def _flush_locked(self, folder: FolderState) -> None:
        workspace = folder.workspace
        if workspace is None or folder.removed:
            return
        paths, scan, head = folder.changes.take()
        if not (paths or scan or head or folder.changes.overlay_changes):
            if not await self._head_moved(folder, workspace):
                return
            # No watcher told us: a checkout may have changed files too, and a scan is stat-cheap.
            scan = True
        # An empty list still makes the workspace look at git: that is all a moved HEAD needs
        # when the watcher reported it (it reports the files a checkout changed as well).
        await self._run_refresh(folder, None if scan else sorted(paths), False)

    async def _head_moved(self, folder: FolderState, workspace: WorkspaceLike) -> bool:
        """Whether HEAD moved since the snapshot. Read in a worker (`.git` may sit on a hung
        mount); one check per folder at a time, and a plan waits for it only briefly."""
        if workspace.snapshot is None:
            return False
        check = folder.head_check
        if check is None or check.done():
            try:
                check = folder.head_check = self._submit(workspace.head_changed)
            except EngineClosed:
                return False
        try:
            return bool(await asyncio.wait_for(asyncio.shield(_watched(check)), HEAD_CHECK_TIMEOUT))
        except TimeoutError:
            logger.debug("HEAD check of %s still running: planning without it", folder.root)
        except Exception as exc:  # the check is an optimisation: never let it fail a plan
            logger.debug("head check failed for %s: %s", folder.root, exc)
        return False

    async def _initial_index(self, folder: FolderState) -> None:
        try:
            async with folder.lock:
                await self._run_refresh(folder, None, False)
        finally:
            if not folder.ready.done():
                folder.ready.set_result(None)

    async def _run_refresh(self, folder: FolderState, paths: list[str] | None, full: bool) -> bool:
        """One refresh in a worker; the caller holds `folder.lock`. Failures leave the folder "failed"."""
        workspace = folder.workspace
        assert workspace is not None
        changes = folder.changes.take_overlay_changes()
        first = workspace.snapshot is None
        progress = self._progress_callback(folder)

        def job() -> SnapshotLike:
            # overlays are handed over with the refresh that reads them, so none is half-applied
            for rel, text in changes.items():
                workspace.set_overlay(rel, text)
            # a directory in `paths` (created or deleted) is expanded by the workspace itself
            return workspace.refresh(paths=paths, full=full, progress=progress)

        try:
            running = self._submit(job)
        except EngineClosed:
            return False
        folder.running = running  # kept after a cancelled await: close() must still wait for it
        outcome = _watched(running)
        try:
            # shield: a cancelled caller must not drop a queued job that already took the overlays
            snapshot = await asyncio.shield(outcome)
        except asyncio.CancelledError:
            raise
        except EngineClosed:
            return False
        except Exception as exc:
            self._fail(folder, exc)
            return False
        folder.refreshes += 1
        folder.plans.renew(snapshot.generation)
        was = folder.state
        folder.state, folder.error = "ready", None
        if first:
            folder.index_ms = (time.monotonic() - folder.started) * 1000
            if not folder.ready.done():
                folder.ready.set_result(None)
            self._emit(folder, "ready")
        else:
            if was == "failed":
                logger.info("%s recovered", folder.root)
            self._emit(folder, "refreshed")
        self._prepare(folder, snapshot)  # after the news: it is not part of the refresh
        return True

    def _prepare(self, folder: FolderState, snapshot: SnapshotLike) -> None:
        """Make in a worker, from now on, what the first plan on `snapshot` would otherwise make
        (`Snapshot.prepare`), and collect once if that was much: a plan that comes meanwhile
        waits for both rather than making the lookups too and paying the collections later, and
        a later plan finds them done."""

        def job() -> None:
            try:
                with collector.paused():
                    snapshot.prepare(then=collector.settle)
            except Exception as exc:  # the first plan makes them again, and reports what fails
                logger.warning("preparing plans on %s failed: %s", folder.root, describe(exc))

        with contextlib.suppress(EngineClosed):
            folder.preparing = self._submit(job)

    def _progress_callback(self, folder: FolderState) -> ProgressFn:
        loop = self._get_loop()
        last_at = [0.0]
        last_phase = [""]

        def progress(phase: str, done: int, total: int) -> None:
            if self._closing or folder.removed:
                raise EngineClosed("refresh abandoned")
            now = time.monotonic()
            if phase == last_phase[0] and done < total and now - last_at[0] < PROGRESS_INTERVAL:
                return
            last_at[0], last_phase[0] = now, phase
            # RuntimeError: the loop is gone, so nobody is listening any more
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._on_progress, folder, phase, done, total)

        return progress

    def _on_progress(self, folder: FolderState, phase: str, done: int, total: int) -> None:
        folder.phase, folder.done, folder.total = phase, done, total
        self._emit(folder, "progress")

    def _fail(self, folder: FolderState, exc: BaseException) -> None:
        message = describe(exc)
        if message != folder.error:  # once per distinct error: a broken folder retries often
            logger.error("refreshing %s failed: %s", folder.root, message, exc_info=exc)
        folder.state, folder.error = "failed", message
        self._emit(folder, "failed")

    # ---- status -------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        return {
            "version": __version__,
            "http": {"url": self._http_url} if self._http_url else None,
            "folders": [self.folder_status(f) for f in self.folders()],
        }

    def folder_status(self, folder: FolderState) -> dict[str, Any]:
        entry: dict[str, Any] = {}
        snapshot = folder.workspace.snapshot if folder.workspace is not None else None
        if snapshot is not None:
            try:
                entry.update(snapshot.summary())
            except Exception as exc:
                entry["summary_error"] = describe(exc)
        entry.update(
            uri=folder.uri,
            root=folder.root,
            state=folder.state,
            progress=folder.progress(),
            error=folder.error,
            index_ms=None if folder.index_ms is None else round(folder.index_ms, 1),
            refreshes=folder.refreshes,
            pending=folder.changes.waiting(),
            overlays=len(folder.changes.overlays),
            plans={"hits": folder.plans.hits, "misses": folder.plans.misses},
        )
        return entry

    # ---- lifecycle ----------------------------------------------------------------------------

    async def close(self) -> None:
        """Stop background work, drop queued jobs and close every workspace's store."""
        if self._closed or self._closing:
            return
        self._closing = True
        for hook in self._close_hooks:
            try:
                await asyncio.wait_for(hook(), CLOSE_GRACE)
            except Exception as exc:
                logger.warning("close hook failed: %s", describe(exc))
        for folder in self._folders.values():
            folder.changes.close()
        await asyncio.gather(*self._background.cancel_all(), return_exceptions=True)
        self._executor.shutdown(wait=False, cancel_futures=True)
        # A refresh already in a worker cannot be interrupted; it stops at its next progress
        # report. Wait a little so its store is closed after its last write, not during it.
        running = [
            f.running for f in self._folders.values() if f.running is not None and not f.running.done()
        ]
        if running:
            await asyncio.wait([_watched(r) for r in running], timeout=CLOSE_GRACE)
        for folder in list(self._folders.values()):
            await self._close_workspace(folder)
        await asyncio.to_thread(self._recorder.close, CLOSE_GRACE)
        self._closed = True

    def close_sync(self, grace: float = CLOSE_GRACE) -> bool:
        """`close()` for when the loop is already gone (the editor vanished).

        Returns True if no worker is left running a refresh.
        """
        if self._closed:
            return not self.busy()
        self._closing = True
        self._executor.shutdown(wait=False, cancel_futures=True)
        running = [f.running for f in self._folders.values() if f.running is not None]
        concurrent.futures.wait(running, timeout=grace)
        for folder in self._folders.values():
            if folder.workspace is not None:
                _close_with_timeout(folder.workspace, grace)
        self._recorder.close(grace)
        self._closed = True
        return not self.busy()

    def busy(self) -> bool:
        """True while a worker still runs a refresh or reads HEAD (it would keep the process from exiting)."""
        return any(
            job is not None and not job.done()
            for f in self._folders.values()
            for job in (f.running, f.head_check)
        )

    async def _close_folder(self, folder: FolderState) -> None:
        if folder.index_task is not None and not folder.index_task.done():
            folder.index_task.cancel()
        if folder.running is not None and not folder.running.done():
            await asyncio.wait([_watched(folder.running)], timeout=CLOSE_GRACE)
        await self._close_workspace(folder)

    async def _close_workspace(self, folder: FolderState) -> None:
        workspace, folder.workspace = folder.workspace, None
        if workspace is None:
            return
        try:
            # Its own thread: close() waits for the workspace lock, which a stuck refresh may hold.
            await asyncio.wait_for(asyncio.to_thread(workspace.close), CLOSE_GRACE)
        except Exception as exc:
            logger.warning("closing %s failed: %s", folder.root, describe(exc))

    # ---- plumbing -----------------------------------------------------------------------------

    def _get_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    def _check_open(self) -> None:
        if self._closing:
            raise EngineClosed("the server is shutting down")

    def _submit(self, fn: Callable[..., Any], *args: Any) -> concurrent.futures.Future[Any]:
        try:
            return self._executor.submit(fn, *args)
        except RuntimeError as exc:  # submit after shutdown
            raise EngineClosed("the server is shutting down") from exc

    def _run_task(self, coro: Awaitable[Any], name: str) -> asyncio.Task[Any]:
        return self._background.spawn(coro, name, self._get_loop())

    def _emit(self, folder: FolderState, event: str) -> None:
        for listener in list(self._listeners):
            try:
                listener(folder, event)
            except Exception:
                logger.exception("listener failed on %s %s", event, folder.root)


async def _bounded(job: concurrent.futures.Future[T] | None, timeout: float = RECORD_WAIT) -> T | None:
    """A recorder job's answer; None without a job, after `timeout` seconds (the job goes on) or
    if it failed: recording never holds a plan up for long, and never fails it."""
    if job is None:
        return None
    try:
        return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(job)), timeout)
    except TimeoutError:
        return None
    except Exception:
        logger.exception("recording failed")
        return None


def exit_if_stuck(engine: Engine, code: int) -> None:
    """Exit now if a worker is still inside a refresh that cannot be interrupted (a hung git,
    a dead mount): the interpreter would join that thread at exit and never get there."""
    if not engine.busy():
        return
    logger.warning("exiting with a refresh still running")
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def _retrieve(fut: asyncio.Future[Any]) -> None:
    # Mark the outcome as seen so that an abandoned failure does not log "never retrieved".
    if not fut.cancelled():
        fut.exception()


def _watched(running: concurrent.futures.Future[Any]) -> asyncio.Future[Any]:
    """An awaitable view of a worker's job whose failure nobody needs to read (close waits on it)."""
    outcome = asyncio.wrap_future(running)
    outcome.add_done_callback(_retrieve)
    return outcome


def _close_with_timeout(workspace: WorkspaceLike, timeout: float) -> None:
    def run() -> None:
        try:
            workspace.close()
        except Exception as exc:
            logger.warning("closing %s failed: %s", workspace.root, describe(exc))

    thread = threading.Thread(target=run, name="rtk-close", daemon=True)
    thread.start()
    thread.join(timeout)
