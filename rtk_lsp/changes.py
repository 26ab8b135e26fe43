"""What changed in one folder since its last refresh, and when a refresh is due for it.

A `ChangeTracker` lives on the engine's event loop, one per folder. File events open a
window that closes `coalesce_delay` seconds after the first of them, not a sliding
debounce: a build writing files for minutes must not postpone the refresh forever. Unsaved
editor text waits for `overlay_delay` seconds of quiet per file. When a window closes,
`on_due` runs and the engine refreshes the folder with what `take` hands over.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

from rtk_lsp.index.fsread import read_file
from rtk_lsp.paths import git_change, relative

__all__ = ["ChangeTracker", "same_as_disk"]


class ChangeTracker:
    def __init__(
        self,
        root: str,
        loop: asyncio.AbstractEventLoop,
        on_due: Callable[[], None],
        *,
        coalesce_delay: float,
        overlay_delay: float,
    ) -> None:
        self.root = root
        self.pending: set[str] = set()  # changed root-relative paths not yet refreshed
        self.scan_needed = False  # a directory changed: only a scan finds what is in it
        self.head_dirty = False  # HEAD moved (a commit, checkout or fetch)
        self.overlays: dict[str, str] = {}  # unsaved editor text by relative path
        self.overlay_changes: dict[str, str | None] = {}  # not yet given to the workspace
        self._loop = loop
        self._on_due = on_due
        self._coalesce_delay = coalesce_delay
        self._overlay_delay = overlay_delay
        self._overlay_timers: dict[str, asyncio.TimerHandle] = {}
        self._flush_timer: asyncio.TimerHandle | None = None
        self._closed = False

    # ---- what happened ------------------------------------------------------------------------

    def file_changed(self, path: str) -> None:
        """A path at or below the root changed on disk (its directories resolved)."""
        if self._note(path):
            self._schedule(self._coalesce_delay)

    def _note(self, path: str) -> bool:
        rel = relative(path, self.root)
        if rel == ".":
            self.scan_needed = True
            return True
        git = git_change(rel.split("/"))
        if git != "outside":
            self.head_dirty = self.head_dirty or git == "head"
            return git == "head"
        if os.path.isdir(path):
            self.scan_needed = True
        else:
            self.pending.add(rel)
        return True

    def rescan(self) -> None:
        """Everything may have changed (a new exclude pattern or size cap): the next refresh scans."""
        self.scan_needed = True

    def set_overlay(self, path: str, text: str | None) -> bool:
        """Unsaved editor text for a file below the root (None: the editor closed it).

        True when the file was just opened: its text is most likely what is on disk (which
        the index has already), and the caller should compare the two off the event loop
        (`same_as_disk`, then `forget_unchanged`); until then it is an overlay like any other.
        """
        rel = relative(path, self.root)
        opened = False
        if text is None:
            if rel not in self.overlays:
                return False
            del self.overlays[rel]
        else:
            if self.overlays.get(rel) == text:
                return False
            opened = rel not in self.overlays
            self.overlays[rel] = text
        self._overlay_changed(rel, text)
        return opened

    def forget_unchanged(self, path: str, text: str) -> None:
        """The text `set_overlay` was given for `path` is what is on disk: no overlay after all
        (unless the editor changed it since)."""
        rel = relative(path, self.root)
        if self.overlays.get(rel) is not text:
            return
        del self.overlays[rel]
        if self.overlay_changes.get(rel) is text:
            del self.overlay_changes[rel]  # never handed to the workspace: nothing to undo
            timer = self._overlay_timers.pop(rel, None)
            if timer is not None:
                timer.cancel()
        else:
            self._overlay_changed(rel, None)  # the workspace has it already: take it back

    def _overlay_changed(self, rel: str, text: str | None) -> None:
        self.overlay_changes[rel] = text
        timer = self._overlay_timers.pop(rel, None)
        if timer is not None:
            timer.cancel()
        self._overlay_timers[rel] = self._loop.call_later(self._overlay_delay, self._overlay_due, rel)

    def _overlay_due(self, rel: str) -> None:
        self._overlay_timers.pop(rel, None)
        if not self._closed:
            self.pending.add(rel)
            self._schedule(0)

    def promote_overlays(self) -> None:
        """Make unsaved text still in its quiet period part of the next refresh (a plan is asked for)."""
        for rel, timer in self._overlay_timers.items():
            timer.cancel()
            self.pending.add(rel)
        self._overlay_timers.clear()

    # ---- handing over -------------------------------------------------------------------------

    def take(self) -> tuple[set[str], bool, bool]:
        """The changed paths, whether a scan is needed and whether HEAD moved; then forget them."""
        paths, self.pending = self.pending, set()
        scan, head = self.scan_needed, self.head_dirty
        self.scan_needed = self.head_dirty = False
        return paths, scan, head

    def take_overlay_changes(self) -> dict[str, str | None]:
        changes, self.overlay_changes = self.overlay_changes, {}
        return changes

    def waiting(self) -> int:
        """Changes not yet refreshed, unsaved text in its quiet period included."""
        return len(self.pending) + len(self._overlay_timers)

    def close(self) -> None:
        """Stop every timer: nothing will be due any more."""
        self._closed = True
        for timer in self._overlay_timers.values():
            timer.cancel()
        self._overlay_timers.clear()
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None

    # ---- timing -------------------------------------------------------------------------------

    def _schedule(self, delay: float) -> None:
        if self._flush_timer is not None:
            if delay > 0:
                return  # the window is open already
            self._flush_timer.cancel()
        self._flush_timer = self._loop.call_later(delay, self._due)

    def _due(self) -> None:
        self._flush_timer = None
        if not self._closed:
            self._on_due()


def same_as_disk(path: str, text: str) -> bool:
    """Whether the file at `path` holds exactly `text` (it may block: call it in a worker)."""
    data = text.encode("utf-8", errors="surrogateescape")
    try:
        disk, _ = read_file(path, len(data) + 1)  # a regular file, never more than the text
    except OSError:
        return False
    return disk == data
