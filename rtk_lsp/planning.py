"""One way from a root to a plan, for every caller: the CLI, the engine, bench scripts, tests.

A plan needs a snapshot of the root and, for `detail=content`, the text of the files it
selects. `source_reader` is the one rule for reading that text, whoever asks.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping

from rtk_lsp import collector
from rtk_lsp.index.scan import read_file
from rtk_lsp.index.snapshot import Snapshot
from rtk_lsp.index.workspace import ProgressFn, Workspace
from rtk_lsp.plan.pipeline import Plan, ReadSource, plan
from rtk_lsp.plan.request import PlanRequest
from rtk_lsp.recording import record_plan
from rtk_lsp.settings import DEFAULT_MAX_FILE_SIZE, Settings

__all__ = ["build_snapshot", "plan_root", "plan_snapshot", "source_reader"]


def source_reader(root: str, max_file_size: int, overlays: Mapping[str, str] | None = None) -> ReadSource:
    """The text of a workspace file as a plan shows it: unsaved editor text first, else the file
    read as the index reads it (None for what is not text or over `max_file_size`), and never
    anything outside `root` (a resolved path), whatever the path or a symlink says."""
    unsaved = dict(overlays or {})

    def read(rel_path: str) -> str | None:
        if rel_path in unsaved:
            return unsaved[rel_path]
        return read_file(root, rel_path, max_file_size).text  # guarded: never outside `root`

    return read


def plan_snapshot(
    snapshot: Snapshot,
    request: PlanRequest,
    *,
    max_file_size: int = DEFAULT_MAX_FILE_SIZE,
    overlays: Mapping[str, str] | None = None,
) -> Plan:
    """The plan of `request` on a snapshot, reading sources by the one rule."""
    return plan(snapshot, request, source_reader(snapshot.root, max_file_size, overlays))


@contextlib.contextmanager
def _snapshot(
    root: str, settings: Settings, *, full: bool, progress: ProgressFn | None, use_store: bool
) -> Iterator[Snapshot]:
    """A snapshot of `root` now, from its store when it has one (refreshing what changed); the
    store stays open until the block ends."""
    workspace = Workspace(root, settings, use_store=use_store)
    try:
        yield workspace.refresh(full=full, progress=progress)
    finally:
        workspace.close()


def build_snapshot(
    root: str,
    settings: Settings,
    *,
    full: bool = False,
    progress: ProgressFn | None = None,
    use_store: bool = True,
) -> Snapshot:
    """A snapshot of `root` now, from its store when it has one (refreshing what changed)."""
    with _snapshot(root, settings, full=full, progress=progress, use_store=use_store) as snapshot:
        return snapshot


def plan_root(
    root: str,
    request: PlanRequest,
    settings: Settings | None = None,
    *,
    progress: ProgressFn | None = None,
    door: str | None = None,
) -> Plan:
    """A plan computed in this process: index `root` (warm from its store) and plan on it.

    A plan served through a `door` (the CLI's) is recorded, as the engine records its own,
    unless `settings.episodes` says not to."""
    settings = settings or Settings()
    started = time.perf_counter()
    # One plan on a new index: collections would walk all of it within that plan (0.4-0.5 s of
    # a pyright plan, see `collector`), and nothing lives on after it to be collected for.
    with (
        collector.paused(),
        _snapshot(root, settings, full=False, progress=progress, use_store=True) as snapshot,
    ):
        result = plan_snapshot(snapshot, request, max_file_size=settings.max_file_size)
        if door is not None:
            # While the store is still open: closing the database's last connection writes
            # its log back (a checkpoint and a sync), and one such close is enough.
            elapsed = (time.perf_counter() - started) * 1000
            record_plan(result, snapshot.files, door, elapsed, settings.episodes)
    return result
