"""A workspace's warm state and how it is kept current.

`Workspace.refresh()` brings the state up to date (from the SQLite store on a
cold start, then from the file system and git) and publishes an immutable
`Snapshot`. Readers keep using the snapshot they hold while the next is built.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from rtk_lsp.index import content, fsread, scan
from rtk_lsp.index.analyze import analyze, analyze_batch, worker_init
from rtk_lsp.index.commits import History
from rtk_lsp.index.gitdir import read_head
from rtk_lsp.index.graph import Graph
from rtk_lsp.index.history import load_history
from rtk_lsp.index.languages import detect_language
from rtk_lsp.index.lexical import LexicalIndex
from rtk_lsp.index.scan import ScannedFile
from rtk_lsp.index.snapshot import Snapshot
from rtk_lsp.index.store import Store
from rtk_lsp.model import FileRecord
from rtk_lsp.settings import Settings

log = logging.getLogger(__name__)

ProgressFn = Callable[[str, int, int], None]

# Below this many files to parse, worker processes cost more to start than they save.
POOL_MIN_FILES = 200
POOL_BATCH = 48


def files_fingerprint(files: Mapping[str, FileRecord], go_module: str) -> str:
    """Identifies a set of file contents: derived data stored for it is valid for it only."""
    h = hashlib.sha1(go_module.encode())
    for path in sorted(files):
        rec = files[path]
        h.update(f"{path}\0{rec.hash}\0{rec.kind}\n".encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def _go_module(root: str) -> str:
    for line in (fsread.read_text(os.path.join(root, "go.mod"), within=root) or "").splitlines():
        if line.startswith("module ") and len(line.split()) > 1:
            return line.split()[1].strip('"')
    return ""


@dataclasses.dataclass
class _Run:
    """One refresh on its way from the previous snapshot to the next, phase by phase."""

    prev: Snapshot | None
    progress: ProgressFn
    overlays: dict[str, str]  # unsaved editor text by relative path
    touched: set[str]  # overlays set or dropped since the last refresh
    old: dict[str, FileRecord] = dataclasses.field(default_factory=dict)  # the files before
    stored_history: History | None = None  # a cold start's history, from the store
    targets: list[ScannedFile] = dataclasses.field(default_factory=list)  # files to look at
    removed: set[str] = dataclasses.field(default_factory=set)
    new: dict[str, FileRecord] = dataclasses.field(default_factory=dict)  # the files after
    changed: set[str] = dataclasses.field(default_factory=set)  # removed, added or with new content
    to_store: list[FileRecord] = dataclasses.field(default_factory=list)
    hits: int = 0
    misses: int = 0
    notes: list[str] = dataclasses.field(default_factory=list)
    timings: dict[str, float] = dataclasses.field(default_factory=dict)  # ms per phase, in order
    _clock: float = dataclasses.field(default_factory=time.perf_counter)

    @property
    def previous_history(self) -> History | None:
        return self.prev.history if self.prev is not None else self.stored_history

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.timings[phase] = (now - self._clock) * 1000
        self._clock = now


class Workspace:
    def __init__(self, root: str, settings: Settings, *, use_store: bool = True) -> None:
        self.root = os.path.realpath(root)
        if not os.path.isdir(self.root):
            raise NotADirectoryError(f"workspace root is not a directory: {root}")
        self.settings = settings
        self._lock = threading.RLock()
        self._snapshot: Snapshot | None = None
        self._store = Store(self.root) if use_store else None
        # Shared by every workspace of this process (and, through its file, of the machine).
        self._content = content.shared() if use_store else None
        # Overlays have their own lock: editors set them from the event loop, which must
        # never wait for a refresh holding the main lock.
        self._overlay_lock = threading.Lock()
        self._overlays: dict[str, str] = {}
        self._overlays_touched: set[str] = set()  # set or dropped since the last refresh
        self._generation = 0
        self._graph_fingerprint = ""  # of the files whose graph edges the store holds
        self._totals = {"hits": 0, "misses": 0}

    @property
    def snapshot(self) -> Snapshot | None:
        return self._snapshot

    def set_overlay(self, rel_path: str, text: str | None) -> None:
        with self._overlay_lock:
            if text is None:
                self._overlays.pop(rel_path, None)
            else:
                self._overlays[rel_path] = text
            self._overlays_touched.add(rel_path)

    def update_settings(self, settings: Settings) -> None:
        self.settings = settings

    def head_changed(self) -> bool:
        snap = self._snapshot
        return snap is not None and read_head(self.root) != snap.history.head

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._save_graph()
                self._store.close()

    def _save_graph(self) -> None:
        """Persist the call graph's edges if they changed since they were last stored.

        Done on close and after a cold build, not on every refresh: an edit must stay cheap.
        """
        snap = self._snapshot
        if self._store is None or snap is None:
            return
        fp = files_fingerprint(snap.files, _go_module(self.root))
        if fp != self._graph_fingerprint:
            self._store.save_derived("graph", fp, snap.graph.edges_wire())
            self._graph_fingerprint = fp

    # ---- refresh ------------------------------------------------------------------------------

    def refresh(
        self,
        *,
        paths: Iterable[str] | None = None,
        full: bool = False,
        progress: ProgressFn | None = None,
    ) -> Snapshot:
        with self._lock:
            return self._refresh(paths, full, progress or (lambda phase, done, total: None))

    def _refresh(self, paths: Iterable[str] | None, full: bool, progress: ProgressFn) -> Snapshot:
        run = self._begin(progress)
        if run.prev is None:
            self._load(run)
        self._scan(run, paths)
        self._parse(run, full)
        lexical, graph, save_graph = self._index(run)
        history = self._history(run)
        self._persist(run, history)
        snap = self._publish(run, lexical, graph, history)
        if save_graph:
            self._save_graph()
        return snap

    def _begin(self, progress: ProgressFn) -> _Run:
        """The previous snapshot and the unsaved text that this refresh starts from."""
        with self._overlay_lock:
            overlays = dict(self._overlays)
            touched = set(self._overlays_touched)
            self._overlays_touched.clear()
        prev = self._snapshot
        run = _Run(prev, progress, overlays, touched)
        run.old = dict(prev.files) if prev is not None else {}
        return run

    def _load(self, run: _Run) -> None:
        """A cold start: files and history as the store kept them."""
        run.progress("load", 0, 1)
        if self._store is not None:
            run.old = self._store.load_files()
            wire = self._store.load_history()
            if wire is not None:
                try:
                    run.stored_history = History.from_wire(wire)
                except (ValueError, TypeError, IndexError):
                    run.stored_history = None
        run.lap("load")

    def _scan(self, run: _Run, paths: Iterable[str] | None) -> None:
        """Which files to look at: all of them (a scan), or the changed paths and unsaved files."""
        run.progress("scan", 0, 1)
        exclude = self.settings.exclude
        if paths is None or run.prev is None:
            listed, listing_note = scan.list_files(self.root, exclude)
            run.targets = listed
            run.removed = set(run.old) - {sf.rel_path for sf in listed}
            if listing_note:
                run.notes.append(listing_note)
        else:
            for rel in sorted(self._expand(scan.relativize(self.root, paths), run.old) | run.touched):
                sf = scan.stat_file(self.root, self.root, rel) if scan.wanted(rel, exclude) else None
                if sf is None:
                    if rel in run.old:
                        run.removed.add(rel)
                else:
                    run.targets.append(sf)
        run.lap("scan")

    def _parse(self, run: _Run, full: bool) -> None:
        """Read what changed by its stat (or everything when `full`), parse what changed by its hash."""
        pending: list[tuple[ScannedFile, FileRecord | None, str | None]] = []
        for sf in run.targets:
            before = run.old.get(sf.rel_path)
            overlay = run.overlays.get(sf.rel_path)
            if (
                overlay is None
                and before is not None
                and not full
                # a chmod leaves size and mtime alone: a file that could not be read is tried again
                and before.kind != "unreadable"
                and before.size == sf.size
                and before.mtime_ns == sf.mtime_ns
                and before.language == detect_language(sf.rel_path)
                # a changed size cap re-classifies files around it
                and (before.kind == "large") == (sf.size > self.settings.max_file_size)
            ):
                run.hits += 1
                continue
            pending.append((sf, before, overlay))

        run.new = dict(run.old)
        for p in run.removed:
            run.new.pop(p, None)
        run.changed = set(run.removed)
        for rec, before, overlay in self._analyze(pending, run.progress):
            run.new[rec.rel_path] = rec
            if overlay is None:
                run.to_store.append(rec)
            if before is not None and before.hash == rec.hash and before.kind == rec.kind and overlay is None:
                run.hits += 1  # a new stat, the same content: nothing re-parsed
                continue
            run.misses += 1
            run.changed.add(rec.rel_path)
        run.lap("parse")

    def _index(self, run: _Run) -> tuple[LexicalIndex, Graph, bool]:
        """The lexical index and the graph of the new files, and whether the graph is worth storing.

        After a snapshot both are patched for the changed files; a cold start builds the
        lexical index and takes the graph's edges from the store when they were stored for
        exactly the files it loaded.
        """
        run.progress("graph", 0, 1)
        old, new, changed, prev = run.old, run.new, run.changed, run.prev
        go_module = _go_module(self.root)
        if prev is not None:
            lexical = prev.lexical.updated(
                [old[p] for p in changed if p in old], [new[p] for p in changed if p in new]
            )
            run.lap("lexical")
            graph = prev.graph.updated(old, new, changed, go_module)
            run.lap("graph")
            return lexical, graph, False
        lexical = LexicalIndex.build(new.values())
        run.lap("lexical")
        stored = None
        if self._store is not None and old:
            fp = files_fingerprint(old, go_module)
            stored = self._store.load_derived("graph", fp)
            self._graph_fingerprint = fp if stored is not None else ""
        if stored is not None:
            graph = Graph.from_edges(old, stored).updated(old, new, changed, go_module)
        else:
            graph = Graph.build(new, go_module)
        run.lap("graph")
        return lexical, graph, stored is None

    def _history(self, run: _Run) -> History:
        run.progress("history", 0, 1)
        history = load_history(self.root, self.settings.history_depth, run.previous_history, self._content)
        if history.note:
            run.notes.append(history.note)
        run.lap("history")
        return history

    def _persist(self, run: _Run, history: History) -> None:
        """Files parsed from disk (not unsaved text), a new HEAD's history, and an event."""
        run.progress("store", 0, 1)
        if self._store is not None:
            self._store.save_files(run.to_store, run.removed)
            # Deleted under us and recreated empty: refill it, or the next start is cold.
            recreated = self._store.take_recreated()
            if recreated:
                self._store.save_files([r for p, r in run.new.items() if p not in run.overlays], ())
                self._graph_fingerprint = ""
            previous = run.previous_history
            if history.head and (recreated or previous is None or previous.head != history.head):
                self._store.save_history(history.head, history.to_wire())
            kind = "hit" if not run.changed and run.prev is not None else "refresh" if run.prev else "load"
            self._store.record_event(
                kind,
                f"changed={len(run.changed)} hits={run.hits} misses={run.misses}",
                sum(run.timings.values()),
            )
            for db in (self._store, self._content):  # what is wrong with a store, for as long as it is
                if db is not None and db.note:
                    run.notes.append(db.note)
        run.lap("store")

    def _publish(self, run: _Run, lexical: LexicalIndex, graph: Graph, history: History) -> Snapshot:
        """The next snapshot, for readers from now on."""
        self._totals["hits"] += run.hits
        self._totals["misses"] += run.misses
        moved = run.previous_history is not history
        self._generation += 1 if (run.changed or run.prev is None or moved) else 0
        snap = Snapshot(
            root=self.root,
            generation=self._generation,
            files=run.new,
            lexical=lexical,
            graph=graph,
            history=history,
            cache={
                "hits": run.hits,
                "misses": run.misses,
                "changed": len(run.changed),
                **{f"total_{k}": v for k, v in self._totals.items()},
            },
            timings_ms=run.timings,
            refreshed_at=time.time(),
            notes=tuple(dict.fromkeys(run.notes)),
            previous=run.prev,
        )
        self._snapshot = snap
        return snap

    def _expand(self, rels: Iterable[str], known: Mapping[str, FileRecord]) -> set[str]:
        """Changed paths as files: a directory stands for what is (or was) inside it."""
        out: set[str] = set()
        for rel in rels:
            full = os.path.join(self.root, rel)
            if os.path.isdir(full) and not os.path.islink(full):
                listed, _ = scan.list_files(self.root, self.settings.exclude, under=rel)
                out.update(sf.rel_path for sf in listed)
            else:
                out.add(rel)
            prefix = rel + "/"
            out.update(p for p in known if p.startswith(prefix))  # a deleted or emptied directory
        return out

    def _analyze(
        self, pending: list[tuple[ScannedFile, FileRecord | None, str | None]], progress: ProgressFn
    ) -> Iterable[tuple[FileRecord, FileRecord | None, str | None]]:
        """Records for `pending` files as (record, record before, overlay used)."""
        total = len(pending)
        max_size = self.settings.max_file_size
        progress("parse", 0, total)
        done = 0
        # Files never seen before go to worker processes on a cold start; re-reads of known
        # files compare hashes first and are few.
        fresh = [sf for sf, before, overlay in pending if before is None and overlay is None]
        if len(fresh) >= POOL_MIN_FILES:
            for pooled in self._analyze_in_pool(fresh, max_size, progress, total):
                done += 1
                yield pooled, None, None
            pending = [(sf, b, o) for sf, b, o in pending if not (b is None and o is None)]
        for sf, before, overlay in pending:
            prev_hash = before.hash if before is not None and overlay is None else None
            rec = analyze(self.root, sf, max_size, prev_hash, overlay)
            if rec is None:  # same content as `before`: keep its facts with the new stat
                assert before is not None
                yield dataclasses.replace(before, size=sf.size, mtime_ns=sf.mtime_ns), before, overlay
            else:
                yield rec, before, overlay
            done += 1
            if done % 50 == 0 or done == total:
                progress("parse", done, total)

    def _analyze_in_pool(
        self, files: list[ScannedFile], max_size: int, progress: ProgressFn, total: int
    ) -> list[FileRecord]:
        # Largest files first so that the last batches are short and both cores finish together.
        files = sorted(files, key=lambda sf: -sf.size)
        n_batches = max(1, len(files) // POOL_BATCH)
        batches = [
            (self.root, max_size, [(sf.rel_path, sf.size, sf.mtime_ns) for sf in files[i::n_batches]])
            for i in range(n_batches)
        ]
        workers = max(1, min(os.cpu_count() or 1, 4))
        # spawn, not fork: the language server has threads, and forking a threaded process can deadlock
        ctx = multiprocessing.get_context("spawn")
        out: list[FileRecord] = []
        try:
            pool = ProcessPoolExecutor(
                max_workers=workers, mp_context=ctx, initializer=worker_init, initargs=(os.getpid(),)
            )
        except (OSError, RuntimeError) as e:  # no worker processes here: do it in this one
            log.warning("worker processes unavailable (%s); indexing in-process", e)
        else:
            try:
                for rows in pool.map(analyze_batch, batches):
                    out.extend(FileRecord.from_row(row) for row in rows)
                    progress("parse", len(out), total)
            except BrokenProcessPool as e:
                log.warning("a parser process died (%s); indexing in-process", e)
                out = []
            finally:
                # an aborted refresh (shutdown) must not wait for the queued batches
                pool.shutdown(wait=True, cancel_futures=True)
            if out or not files:
                return out
        out = []
        for sf in files:
            rec = analyze(self.root, sf, max_size)
            if rec is not None:
                out.append(rec)
                progress("parse", len(out), total)
        return out
