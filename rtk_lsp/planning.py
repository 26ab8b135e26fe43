"""One way from a root to a plan, for every caller: the CLI, the engine, bench scripts, tests.

A plan needs a snapshot of the root and, for `detail=content`, the text of the files it
selects. `source_reader` is the one rule for reading that text, whoever asks.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from rtk_lsp.index.scan import read_file
from rtk_lsp.index.snapshot import Snapshot
from rtk_lsp.index.workspace import ProgressFn, Workspace
from rtk_lsp.paths import inside
from rtk_lsp.plan.pipeline import Plan, ReadSource, plan
from rtk_lsp.plan.request import PlanRequest
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
        full = os.path.realpath(os.path.join(root, rel_path))
        if full == root or not inside(full, root):
            return None
        return read_file(root, rel_path, max_file_size).text

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


def build_snapshot(
    root: str,
    settings: Settings,
    *,
    full: bool = False,
    progress: ProgressFn | None = None,
    use_store: bool = True,
) -> Snapshot:
    """A snapshot of `root` now, from its store when it has one (refreshing what changed)."""
    workspace = Workspace(root, settings, use_store=use_store)
    try:
        return workspace.refresh(full=full, progress=progress)
    finally:
        workspace.close()


def plan_root(
    root: str, request: PlanRequest, settings: Settings | None = None, *, progress: ProgressFn | None = None
) -> Plan:
    """A plan computed in this process: index `root` (warm from its store) and plan on it."""
    settings = settings or Settings()
    snapshot = build_snapshot(root, settings, progress=progress)
    return plan_snapshot(snapshot, request, max_file_size=settings.max_file_size)
