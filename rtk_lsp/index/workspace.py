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

from rtk_lsp.index import scan
from rtk_lsp.index.analyze import analyze, analyze_batch, quiet_stdout
from rtk_lsp.index.commits import History
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


def _git_dir(root: str) -> str | None:
    d = root
    while True:
        dotgit = os.path.join(d, ".git")
        if os.path.isdir(dotgit):
            return dotgit
        if os.path.isfile(dotgit):  # worktrees and submodules: "gitdir: <path>"
            try:
                with open(dotgit) as f:
                    line = f.read().strip()
            except OSError:
                return None
            if line.startswith("gitdir:"):
                return os.path.normpath(os.path.join(d, line[7:].strip()))
            return None
        parent = os.path.dirname(d)
        if parent == d:
            return None
        d = parent


def read_head(root: str) -> str | None:
    """HEAD's sha from the files under .git, without running git (cheap enough for every plan)."""
    git_dir = _git_dir(root)
    if git_dir is None:
        return None
    try:
        with open(os.path.join(git_dir, "HEAD")) as f:
            head = f.read().strip()
        if not head.startswith("ref:"):
            return head or None
        ref = head[4:].strip()
        common = git_dir
        commondir = os.path.join(git_dir, "commondir")
        if os.path.isfile(commondir):
            with open(commondir) as f:
                common = os.path.normpath(os.path.join(git_dir, f.read().strip()))
        for base in (git_dir, common):
            p = os.path.join(base, ref)
            if os.path.isfile(p):
                with open(p) as f:
                    return f.read().strip() or None
        with open(os.path.join(common, "packed-refs")) as f:
            for line in f:
                if line.endswith(" " + ref + "\n") or line.rstrip("\n").endswith(" " + ref):
                    return line.split(" ", 1)[0]
    except OSError:
        return None
    return None


def files_fingerprint(files: Mapping[str, FileRecord], go_module: str) -> str:
    """Identifies a set of file contents: derived data stored for it is valid for it only."""
    h = hashlib.sha1(go_module.encode())
    for path in sorted(files):
        rec = files[path]
        h.update(f"{path}\0{rec.hash}\0{rec.kind}\n".encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def _go_module(root: str) -> str:
    try:
        with open(os.path.join(root, "go.mod"), encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("module "):
                    return line.split()[1].strip('"')
    except (OSError, IndexError):
        pass
    return ""


class Workspace:
    def __init__(self, root: str, settings: Settings, *, use_store: bool = True) -> None:
        self.root = os.path.realpath(root)
        if not os.path.isdir(self.root):
            raise NotADirectoryError(f"workspace root is not a directory: {root}")
        self.settings = settings
        self._lock = threading.RLock()
        self._snapshot: Snapshot | None = None
        self._store = Store(self.root) if use_store else None
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
        timings: dict[str, float] = {}
        clock = time.perf_counter()

        def lap(phase: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            timings[phase] = (now - clock) * 1000
            clock = now

        prev = self._snapshot
        with self._overlay_lock:
            overlays = dict(self._overlays)
            touched = set(self._overlays_touched)
            self._overlays_touched.clear()
        notes: list[str] = []
        stored_history: History | None = None
        if prev is None:
            progress("load", 0, 1)
            old = self._store.load_files() if self._store else {}
            if self._store is not None:
                wire = self._store.load_history()
                if wire is not None:
                    try:
                        stored_history = History.from_wire(wire)
                    except (ValueError, TypeError, IndexError):
                        stored_history = None
                if self._store.note:
                    notes.append(self._store.note)
            lap("load")
        else:
            old = dict(prev.files)

        # -- which files to look at
        progress("scan", 0, 1)
        exclude = self.settings.exclude
        removed: set[str] = set()
        targets: list[ScannedFile] = []
        if paths is None or prev is None:
            listed, method = scan.list_files(self.root, exclude)
            targets = listed
            removed = set(old) - {sf.rel_path for sf in listed}
            if method == "walk":
                notes.append("not a git work tree: files listed by walking the tree")
        else:
            for rel in sorted(self._expand(scan.relativize(self.root, paths), old) | touched):
                sf = scan.stat_file(self.root, self.root, rel) if scan.wanted(rel, exclude) else None
                if sf is None:
                    if rel in old:
                        removed.add(rel)
                else:
                    targets.append(sf)
        lap("scan")

        # -- what to read and parse
        hits = misses = 0
        pending: list[tuple[ScannedFile, FileRecord | None, str | None]] = []
        for sf in targets:
            before = old.get(sf.rel_path)
            overlay = overlays.get(sf.rel_path)
            if (
                overlay is None
                and before is not None
                and not full
                and before.size == sf.size
                and before.mtime_ns == sf.mtime_ns
                and before.language == detect_language(sf.rel_path)
                # a changed size cap re-classifies files around it
                and (before.kind == "large") == (sf.size > self.settings.max_file_size)
            ):
                hits += 1
                continue
            pending.append((sf, before, overlay))

        new = dict(old)
        for p in removed:
            new.pop(p, None)
        changed: set[str] = set(removed)
        to_store: list[FileRecord] = []
        for rec, before, overlay in self._analyze(pending, progress):
            new[rec.rel_path] = rec
            if overlay is None:
                to_store.append(rec)
            if before is not None and before.hash == rec.hash and before.kind == rec.kind and overlay is None:
                hits += 1  # a new stat, the same content: nothing re-parsed
                continue
            misses += 1
            changed.add(rec.rel_path)
        lap("parse")

        # -- derived indexes
        progress("graph", 0, 1)
        go_module = _go_module(self.root)
        save_graph = False
        if prev is None:
            lexical = LexicalIndex.build(new.values())
            lap("lexical")
            stored = None
            if self._store is not None and old:
                fp = files_fingerprint(old, go_module)
                stored = self._store.load_derived("graph", fp)
                self._graph_fingerprint = fp if stored is not None else ""
            if stored is not None:
                graph = Graph.from_edges(old, stored).updated(old, new, changed, go_module)
            else:
                graph = Graph.build(new, go_module)
                save_graph = True
        else:
            lexical = prev.lexical.updated(
                [old[p] for p in changed if p in old], [new[p] for p in changed if p in new]
            )
            lap("lexical")
            graph = prev.graph.updated(old, new, changed, go_module)
        lap("graph")

        progress("history", 0, 1)
        previous_history = prev.history if prev is not None else stored_history
        history = load_history(self.root, self.settings.history_depth, previous_history)
        if history.note:
            notes.append(history.note)
        lap("history")

        progress("store", 0, 1)
        if self._store is not None:
            self._store.save_files(to_store, removed)
            if history.head and (previous_history is None or previous_history.head != history.head):
                self._store.save_history(history.head, history.to_wire())
            kind = "hit" if not changed and prev is not None else "refresh" if prev else "load"
            self._store.record_event(
                kind, f"changed={len(changed)} hits={hits} misses={misses}", sum(timings.values())
            )
        lap("store")

        self._totals["hits"] += hits
        self._totals["misses"] += misses
        self._generation += 1 if (changed or prev is None or previous_history is not history) else 0
        snap = Snapshot(
            root=self.root,
            generation=self._generation,
            files=new,
            lexical=lexical,
            graph=graph,
            history=history,
            cache={
                "hits": hits,
                "misses": misses,
                "changed": len(changed),
                **{f"total_{k}": v for k, v in self._totals.items()},
            },
            timings_ms=timings,
            refreshed_at=time.time(),
            notes=tuple(dict.fromkeys(notes)),
            previous=prev,
        )
        self._snapshot = snap
        if save_graph:
            self._save_graph()
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
            pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=quiet_stdout)
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
