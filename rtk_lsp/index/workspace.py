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
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from rtk_lsp import collector
from rtk_lsp.index import content, fsread, scan
from rtk_lsp.index.analyze import (
    analyze,
    analyze_batch,
    content_key,
    content_row,
    record_from_content,
    record_from_row,
    worker_init,
)
from rtk_lsp.index.commits import History
from rtk_lsp.index.costs import costs
from rtk_lsp.index.gitdir import read_head
from rtk_lsp.index.graph import Graph
from rtk_lsp.index.history import load_history
from rtk_lsp.index.languages import detect_language
from rtk_lsp.index.lexical import LexicalBuilder, LexicalIndex
from rtk_lsp.index.scan import FileContent, ScannedFile
from rtk_lsp.index.snapshot import Snapshot
from rtk_lsp.index.store import Store
from rtk_lsp.model import FileRecord
from rtk_lsp.settings import Settings

log = logging.getLogger(__name__)

ProgressFn = Callable[[str, int, int], None]

POOL_BATCH = 48
# Files read and hashed before their contents are looked up at once: bounds the text held.
READ_CHUNK = 256
PUT_CHUNK = 512  # content rows marshalled and written at once

# A file read from disk on its way to a record: its content, and the key of that content.
_Read = tuple[ScannedFile, FileContent, str]


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
    parsed: list[FileRecord] = dataclasses.field(default_factory=list)  # made by a parser, not looked up
    unput: dict[str, Any] = dataclasses.field(default_factory=dict)  # their content rows not yet stored
    # A cold start's lexical index, built as the records come (None when the index is patched
    # or built from records loaded before)
    lexical: LexicalBuilder | None = None
    forgotten: set[str] = dataclasses.field(default_factory=set)  # stored paths whose content is gone
    bulk: bool = False  # the lexical index and graph were built afresh
    hits: int = 0
    reused: int = 0  # files with new content that the content store already held
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
        self._content = content.acquire() if use_store else None
        # Overlays have their own lock: editors set them from the event loop, which must
        # never wait for a refresh holding the main lock.
        self._overlay_lock = threading.Lock()
        self._overlays: dict[str, str] = {}
        self._overlays_touched: set[str] = set()  # set or dropped since the last refresh
        self._generation = 0
        self._graph_fingerprint = ""  # of the files whose graph edges the store holds
        self._totals = {"hits": 0, "misses": 0}
        self._unstored: list[FileRecord] = []  # contents found in memory that the content store lacks
        # How the last refresh went beyond its snapshot's figures: contents looked up, parsed,
        # and whether it took the bulk path.
        self.last_refresh: dict[str, int | bool] = {}

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
            if self._content is not None:
                content.release(self._content)
                self._content = None

    def _save_graph(self) -> None:
        """Persist the call graph's edges, by the contents they were built from, if they are not yet.

        Done on close and after a build, not on every refresh: an edit must stay cheap. Every
        root, branch and worktree with the same files shares them.
        """
        snap = self._snapshot
        if self._content is None or snap is None:
            return
        fp = files_fingerprint(snap.files, _go_module(self.root))
        if fp != self._graph_fingerprint:
            self._content.put("g", {fp: snap.graph.edges_wire()})
            self._graph_fingerprint = fp

    # ---- refresh ------------------------------------------------------------------------------

    def refresh(
        self,
        *,
        paths: Iterable[str] | None = None,
        full: bool = False,
        progress: ProgressFn | None = None,
    ) -> Snapshot:
        with self._lock, collector.paused():
            return self._refresh(paths, full, progress or (lambda phase, done, total: None))

    def _refresh(self, paths: Iterable[str] | None, full: bool, progress: ProgressFn) -> Snapshot:
        run = self._begin(progress)
        if run.prev is None:
            self._load(run)
        # git is read in a thread meanwhile: on a cold build it waits on git processes while
        # parser processes parse, rather than after them
        reading = _in_thread(
            lambda: load_history(self.root, self.settings.history_depth, run.previous_history, self._content)
        )
        try:
            self._scan(run, paths)
            self._parse(run, full)
            lexical, graph, save_graph = self._index(run)
        finally:  # never left running past the refresh (nor the workspace's close)
            history = self._history(run, reading)
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
        """A cold start: files and history as the store kept them, contents from the content store."""
        run.progress("load", 0, 1)
        if self._store is not None:
            stored = self._store.load_files()
            reads = [
                (ScannedFile(f.rel_path, f.size, f.mtime_ns), FileContent(f.kind, f.hash, None), f.content)
                for f in stored.values()
                if f.content
            ]
            found, _ = self._lookup(reads)
            run.old = {rec.rel_path: rec for rec in found}
            run.forgotten = set(stored) - set(run.old)
            wire = self._store.load_history()
            if wire is not None:
                try:
                    run.stored_history = History.from_wire(wire)
                except (ValueError, TypeError, IndexError):
                    run.stored_history = None
        run.lap("load")

    def _lookup(self, reads: list[_Read]) -> tuple[list[FileRecord], list[_Read]]:
        """Records of the contents seen before (by this process, then by any on the machine), and
        the reads that need a parser."""
        found: list[FileRecord] = []
        rest: list[_Read] = []
        for sf, c, key in reads:
            shared = content.live.get(key)
            if shared is None:
                rest.append((sf, c, key))
            else:  # one set of facts and terms for every path holding this content
                found.append(
                    dataclasses.replace(shared, rel_path=sf.rel_path, size=sf.size, mtime_ns=sf.mtime_ns)
                )
        if found and self._content is not None:
            # Held in memory but not (or no longer: pruned, deleted) on the machine: written with
            # this refresh, so that the next process finds it.
            gone = self._content.missing("f", (k for r in found if (k := _key_of(r))))
            self._unstored.extend(r for r in found if _key_of(r) in gone)
        if not rest or self._content is None:
            return found, rest
        rows = self._content.get("f", (key for _, _, key in rest))
        missing: list[_Read] = []
        for sf, c, key in rest:
            row = rows.get(key)
            try:
                rec = record_from_row(sf, c, row) if row is not None else None
            except (ValueError, TypeError):
                rec = None
            if rec is None:
                missing.append((sf, c, key))
            else:
                content.live[key] = rec
                found.append(rec)
        return found, missing

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
        if run.prev is None and not run.new:
            run.lexical = LexicalBuilder()
        for rec, before, overlay in self._analyze(pending, run):
            run.new[rec.rel_path] = rec
            if run.lexical is not None:
                run.lexical.add(rec)
            if len(run.unput) >= PUT_CHUNK:  # written while parser processes still parse
                self._put_parsed(run)
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

        After a snapshot both are patched for the changed files when that is cheaper than
        building them (`costs`); else, and on a cold start, the lexical index is built and the
        graph's edges come from the content store when it holds them for these files.
        """
        run.progress("graph", 0, 1)
        old, new, changed, prev = run.old, run.new, run.changed, run.prev
        go_module = _go_module(self.root)
        model = costs()
        if prev is not None and not model.rebuild_pays(len(changed), len(new)):
            t0 = time.perf_counter()
            lexical = prev.lexical.updated(
                [old[p] for p in changed if p in old], [new[p] for p in changed if p in new]
            )
            run.lap("lexical")
            t1 = time.perf_counter()
            graph = prev.graph.updated(old, new, changed, go_module)
            run.lap("graph")
            model.observe("lexical_update", (t1 - t0) * 1000, len(changed))
            model.observe("graph_update", (time.perf_counter() - t1) * 1000, len(changed))
            return lexical, graph, False
        t0 = time.perf_counter()
        lexical = run.lexical.index() if run.lexical is not None else LexicalIndex.build(new.values())
        run.lap("lexical")
        model.observe("lexical_build", (time.perf_counter() - t0) * 1000, len(new))
        run.bulk = prev is not None  # a large change set: it costs what a rebuild does
        # Edges stored for exactly these files (a switch back, another worktree), else for the
        # files this cold start loaded (patched for what changed since), else built.
        for files in (new, old) if prev is None else (new,):
            fp = files_fingerprint(files, go_module)
            stored = self._content.get("g", [fp]).get(fp) if self._content is not None and files else None
            if stored is not None:
                self._graph_fingerprint = fp
                graph = Graph.from_edges(files, stored)
                if files is old:
                    graph = graph.updated(old, new, changed, go_module)
                run.lap("graph")
                return lexical, graph, files is old and bool(changed)
        t1 = time.perf_counter()
        graph = Graph.build(new, go_module)
        run.lap("graph")
        model.observe("graph_build", (time.perf_counter() - t1) * 1000, len(new))
        return lexical, graph, True

    def _history(self, run: _Run, reading: Future[History]) -> History:
        run.progress("history", 0, 1)
        history = reading.result()
        if history.note:
            run.notes.append(history.note)
        run.lap("history")
        return history

    def _persist(self, run: _Run, history: History) -> None:
        """Files parsed from disk (not unsaved text), a new HEAD's history, and an event."""
        run.progress("store", 0, 1)
        if self._store is not None:
            # Content first: a path row never points at content that was not written.
            if self._content is not None:
                unstored, self._unstored = self._unstored, []
                if self._content.take_recreated():  # every content again, a few at a time
                    self._graph_fingerprint = ""
                    run.unput.clear()
                    unstored = [r for p, r in run.new.items() if p not in run.overlays]
                for i in range(0, len(unstored), PUT_CHUNK):
                    run.unput.update(
                        (k, content_row(r)) for r in unstored[i : i + PUT_CHUNK] if (k := _key_of(r))
                    )
                    self._put_parsed(run)
                self._put_parsed(run)
            self._store.save_files(run.to_store, run.removed | (run.forgotten - run.new.keys()))
            # Deleted under us and recreated empty: refill it, or the next start is cold.
            recreated = self._store.take_recreated()
            if recreated:
                self._store.save_files([r for p, r in run.new.items() if p not in run.overlays], ())
            previous = run.previous_history
            if history.head and (recreated or previous is None or previous.head != history.head):
                self._store.save_history(history.head, history.to_wire())
            kind = "hit" if not run.changed and run.prev is not None else "refresh" if run.prev else "load"
            self._store.record_event(
                kind,
                f"changed={len(run.changed)} hits={run.hits} misses={run.misses} reused={run.reused}"
                + (" bulk" if run.bulk else ""),
                sum(run.timings.values()),
            )
            for db in (self._store, self._content):  # what is wrong with a store, for as long as it is
                if db is not None and db.note:
                    run.notes.append(db.note)
        run.lap("store")

    def _put_parsed(self, run: _Run) -> None:
        """Write the content rows made so far (they are valid whatever becomes of this refresh)."""
        rows, run.unput = run.unput, {}
        if self._content is not None and rows:
            self._content.put("f", rows)

    def _publish(self, run: _Run, lexical: LexicalIndex, graph: Graph, history: History) -> Snapshot:
        """The next snapshot, for readers from now on."""
        self.last_refresh = {"reused": run.reused, "parsed": len(run.parsed), "bulk": run.bulk}
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
        self, pending: list[tuple[ScannedFile, FileRecord | None, str | None]], run: _Run
    ) -> Iterable[tuple[FileRecord, FileRecord | None, str | None]]:
        """Records for `pending` files as (record, record before, overlay used), with progress."""
        total = len(pending)
        run.progress("parse", 0, total)
        for done, item in enumerate(self._records(pending, run), 1):
            yield item
            if done % 50 == 0 or done == total:
                run.progress("parse", done, total)

    def _records(
        self, pending: list[tuple[ScannedFile, FileRecord | None, str | None]], run: _Run
    ) -> Iterable[tuple[FileRecord, FileRecord | None, str | None]]:
        """Each file is read and hashed; the same content as before keeps its record, content the
        machine has seen is looked up, and only the rest is parsed: in worker processes when
        there is enough of it to pay for their start (`costs`).
        """
        max_size = self.settings.max_file_size
        befores: dict[str, FileRecord | None] = {}
        disk: list[ScannedFile] = []
        for sf, before, overlay in pending:
            if overlay is None:
                befores[sf.rel_path] = before
                disk.append(sf)
                continue
            rec = analyze(self.root, sf, max_size, None, overlay)
            assert rec is not None
            yield rec, before, overlay
        # Largest files first, so that parser processes get the long ones early and finish together.
        disk.sort(key=lambda sf: -sf.size)
        parser = _Parser(self.root, max_size, run)
        for i in range(0, len(disk), READ_CHUNK):
            reads: list[_Read] = []
            for sf in disk[i : i + READ_CHUNK]:
                c = scan.read_file(self.root, sf.rel_path, max_size)
                before = befores[sf.rel_path]
                key = content_key(sf.rel_path, c.kind, c.hash)
                if before is not None and before.hash == c.hash:  # a new stat, the same content
                    yield dataclasses.replace(before, size=sf.size, mtime_ns=sf.mtime_ns), before, None
                elif key is None:
                    yield record_from_content(sf, c), before, None
                else:
                    reads.append((sf, c, key))
            found, misses = self._lookup(reads)
            run.reused += len(found)
            for rec in found:
                yield rec, befores[rec.rel_path], None
            for rec in parser.add(misses):
                yield rec, befores[rec.rel_path], None
        for rec in parser.finish():
            yield rec, befores[rec.rel_path], None


def _in_thread(fn: Callable[[], History]) -> Future[History]:
    """`fn()` running in a new thread."""
    future: Future[History] = Future()

    def run() -> None:
        try:
            future.set_result(fn())
        except BaseException as e:  # given to whoever waits for the result
            future.set_exception(e)

    threading.Thread(target=run, name="rtk-history", daemon=True).start()
    return future


def _key_of(rec: FileRecord) -> str | None:
    return content_key(rec.rel_path, rec.kind, rec.hash)


class _Parser:
    """Parses the files no store knew: in this process until there are enough of them to pay
    for parser processes (`CostModel.pool_break_even`), then in those."""

    def __init__(self, root: str, max_size: int, run: _Run) -> None:
        self.root, self.max_size, self.run = root, max_size, run
        self.workers = max(1, min(os.cpu_count() or 1, 4))
        self.break_even = costs().pool_break_even(self.workers)
        self.waiting: list[_Read] = []  # held (with their text) until the choice is made
        self.waiting_kb = 0.0
        self.batch: list[ScannedFile] = []
        self.pool: ProcessPoolExecutor | None = None
        self.failed = False
        self.futures: list[Future[list[tuple[str, str, Any]]]] = []
        self.sent: list[list[ScannedFile]] = []
        self.started = 0.0

    def add(self, reads: list[_Read]) -> list[FileRecord]:
        """Records parsed right away (none while the choice is open or processes parse)."""
        if self.failed:
            return self._here(reads)
        if self.pool is None:
            self.waiting.extend(reads)
            self.waiting_kb += sum(sf.size for sf, _, _ in reads) / 1024
            if self.waiting_kb < self.break_even or not self._start():
                return [] if not self.failed else self._here(self._drain())
            reads = self._drain()
        for sf, _, _ in reads:
            self.batch.append(sf)
            if len(self.batch) >= POOL_BATCH:
                self._send()
        return []

    def finish(self) -> Iterator[FileRecord]:
        """The records still to come, batch by batch as the parser processes answer."""
        if self.pool is None:
            yield from self._here(self._drain())
            return
        self._send()
        kb = 0.0
        try:
            for future, batch in zip(self.futures, self.sent, strict=True):
                try:
                    rows = [] if self.failed else future.result()
                except BrokenProcessPool as e:
                    log.warning("a parser process died (%s); parsing in this process", e)
                    self.failed = True  # every batch still out is lost with it
                if self.failed:
                    yield from self._reparse(batch)
                    continue
                for sf, (kind, digest, row) in zip(batch, rows, strict=True):
                    rec = self._made(record_from_row(sf, FileContent(kind, digest, None), row), row)
                    kb += rec.size / 1024
                    yield rec
        finally:
            # an aborted refresh (shutdown) must not wait for the queued batches
            self.pool.shutdown(wait=True, cancel_futures=True)
        if kb:
            spent = (time.perf_counter() - self.started) * 1000
            costs().observe("pool_start", spent - kb * costs().ms["parse"] / self.workers, 1)

    def _drain(self) -> list[_Read]:
        waiting, self.waiting = self.waiting, []
        return waiting

    def _start(self) -> bool:
        # spawn, not fork: the language server has threads, and forking a threaded process can deadlock
        try:
            self.pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=worker_init,
                initargs=(os.getpid(),),
            )
        except (OSError, RuntimeError) as e:  # no worker processes here: do it in this one
            log.warning("worker processes unavailable (%s); indexing in-process", e)
            self.failed = True
            return False
        self.started = time.perf_counter()
        return True

    def _send(self) -> None:
        if not self.batch or self.pool is None:
            return
        batch, self.batch = self.batch, []
        items = [(sf.rel_path, sf.size, sf.mtime_ns) for sf in batch]
        future: Future[list[tuple[str, str, Any]]] = Future()
        try:
            future = self.pool.submit(analyze_batch, (self.root, self.max_size, items))
        except BrokenProcessPool as e:  # seen when its result is asked for
            future.set_exception(e)
        self.futures.append(future)
        self.sent.append(batch)

    def _here(self, reads: list[_Read]) -> list[FileRecord]:
        t0 = time.perf_counter()
        out = [self._made(record_from_content(sf, c)) for sf, c, _ in reads]
        kb = sum(sf.size for sf, _, _ in reads) // 1024
        costs().observe("parse", (time.perf_counter() - t0) * 1000, kb)
        return out

    def _reparse(self, batch: list[ScannedFile]) -> list[FileRecord]:
        out = []
        for sf in batch:
            rec = analyze(self.root, sf, self.max_size)
            if rec is not None:
                out.append(self._made(rec))
        return out

    def _made(self, rec: FileRecord, row: Any = None) -> FileRecord:
        """`rec` parsed here or by a parser process (that sent its content `row` along)."""
        key = _key_of(rec)
        if key is not None:
            content.live[key] = rec
            self.run.parsed.append(rec)
            self.run.unput[key] = content_row(rec) if row is None else row
        return rec
