"""The file graph: resolved imports plus calls from references to definitions.

A reference to a name is linked to the files defining it, preferring what the
referencing file imports, then its own directory (Go packages, C units), then a
unique definition anywhere. Names defined in many files (`run`, `get`) link
nowhere: they would connect everything to everything.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rtk_lsp.index.resolve import ImportResolver
from rtk_lsp.model import FileRecord

MAX_AMBIGUOUS_DEFS = 4  # beyond this many defining files a name is too common to mean an edge
MIN_NAME_LEN = 3


@dataclass(frozen=True)
class Graph:
    defs: Mapping[str, frozenset[str]]  # symbol name -> files defining it
    refs: Mapping[str, Mapping[str, int]]  # name -> {file referencing it: count}
    imports_out: Mapping[str, tuple[str, ...]]  # file -> files it imports
    calls_out: Mapping[str, Mapping[str, float]]  # file -> {file whose definitions it uses: weight}
    imports_in: Mapping[str, frozenset[str]]
    calls_in: Mapping[str, Mapping[str, float]]
    # per-path neighbour lists, filled lazily by readers; a new Graph starts empty
    _neighbour_cache: dict[str, list[tuple[str, float]]] = field(
        default_factory=dict, compare=False, repr=False
    )
    # the import resolver of this graph's file set, reused while no file is added or removed
    _resolver: list[tuple[str, ImportResolver]] = field(default_factory=list, compare=False, repr=False)

    def resolver_for(
        self, records: Mapping[str, FileRecord], go_module: str, same_files: bool
    ) -> ImportResolver:
        if same_files and self._resolver and self._resolver[0][0] == go_module:
            return self._resolver[0][1]
        resolver = _resolver(records, go_module)
        self._resolver[:] = [(go_module, resolver)]
        return resolver

    @property
    def import_edges(self) -> int:
        return sum(len(v) for v in self.imports_out.values())

    @property
    def call_edges(self) -> int:
        return sum(len(v) for v in self.calls_out.values())

    def neighbours(self, path: str) -> dict[str, float]:
        """Files linked to `path` either way, with the strongest link's weight (imports count 1)."""
        out: dict[str, float] = {}
        for other in self.imports_out.get(path, ()):
            out[other] = max(out.get(other, 0.0), 1.0)
        for other in self.imports_in.get(path, ()):
            out[other] = max(out.get(other, 0.0), 1.0)
        for other, w in self.calls_out.get(path, {}).items():
            out[other] = max(out.get(other, 0.0), w)
        for other, w in self.calls_in.get(path, {}).items():
            out[other] = max(out.get(other, 0.0), w)
        out.pop(path, None)
        return out

    def strongest_neighbours(self, path: str, limit: int = 64) -> list[tuple[str, float]]:
        """The `limit` strongest links of a file, best first (cached: hubs have hundreds)."""
        cached = self._neighbour_cache.get(path)
        if cached is None:
            links = self.neighbours(path)
            cached = sorted(links.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
            self._neighbour_cache[path] = cached
        return cached

    # ---- construction -------------------------------------------------------------------------

    @classmethod
    def build(cls, records: Mapping[str, FileRecord], go_module: str = "") -> Graph:
        defs, refs = _index_names(records)
        resolver = _resolver(records, go_module)
        imports_out = _resolve_all(resolver, records, records.keys(), defs)
        calls_out = {}
        same_dir = _SameDir(defs)
        for path, rec in records.items():
            edges = _call_edges(path, rec, defs, imports_out.get(path, ()), same_dir)
            if edges:
                calls_out[path] = edges
        imports_in, calls_in = _reverse_sets(imports_out), _reverse_weights(calls_out)
        return cls(
            defs, refs, imports_out, calls_out, imports_in, calls_in, _resolver=[(go_module, resolver)]
        )

    def edges_wire(self) -> tuple[dict[str, tuple[str, ...]], dict[str, dict[str, float]]]:
        """The costly part of a graph, as builtins, for the store."""
        return dict(self.imports_out), {k: dict(v) for k, v in self.calls_out.items()}

    @classmethod
    def from_edges(cls, records: Mapping[str, FileRecord], wire: Any) -> Graph:
        """A graph of `records` from stored edges (the caller checked they belong to these records)."""
        imports_raw: dict[str, Any]
        calls_raw: dict[str, dict[str, float]]
        imports_raw, calls_raw = wire
        imports_out = {k: tuple(v) for k, v in imports_raw.items()}
        calls_out: dict[str, dict[str, float]] = dict(calls_raw)
        defs, refs = _index_names(records)
        return cls(
            defs, refs, imports_out, calls_out, _reverse_sets(imports_out), _reverse_weights(calls_out)
        )

    def updated(
        self,
        old: Mapping[str, FileRecord],
        new: Mapping[str, FileRecord],
        changed: set[str],
        go_module: str = "",
    ) -> Graph:
        """The graph of `new`, given this graph of `old` and the paths that differ between them.

        Copy-on-write: only the entries a change touches are copied, so a one-file edit
        costs in proportion to that file, not to the workspace.
        """
        if not changed:
            return self
        defs, refs, touched_names = _patch_names(self.defs, self.refs, old, new, changed)
        gone = changed - new.keys()
        # A new or deleted file, or a changed package (a namespace, composer.json's PSR-4 map),
        # can change how any import resolves; re-resolving all is cheap.
        files_changed = old.keys() != new.keys() or any(
            p in old and p in new and old[p].facts.package != new[p].facts.package for p in changed
        )
        resolver = self.resolver_for(new, go_module, same_files=not files_changed)
        to_resolve = new.keys() if files_changed else changed & new.keys()
        imports_out, import_dirty = _patch_imports(self.imports_out, resolver, new, to_resolve, gone, defs)
        # Files whose call edges may differ: changed ones, new importers, users of re-defined names.
        redo = (changed & new.keys()) | import_dirty
        for name in touched_names:
            redo.update(refs.get(name, {}))
        calls_out = dict(self.calls_out)
        for path in gone:
            calls_out.pop(path, None)
        same_dir = _SameDir(defs)
        for path in redo:
            edges = _call_edges(path, new[path], defs, imports_out.get(path, ()), same_dir)
            if edges:
                calls_out[path] = edges
            else:
                calls_out.pop(path, None)
        imports_in = _patch_reverse_sets(self.imports_in, self.imports_out, imports_out, gone | import_dirty)
        calls_in = _patch_reverse_weights(self.calls_in, self.calls_out, calls_out, gone | redo)
        return Graph(
            defs, refs, imports_out, calls_out, imports_in, calls_in, _resolver=[(go_module, resolver)]
        )


def _patch_names(
    defs_before: Mapping[str, frozenset[str]],
    refs_before: Mapping[str, Mapping[str, int]],
    old: Mapping[str, FileRecord],
    new: Mapping[str, FileRecord],
    changed: set[str],
) -> tuple[dict[str, frozenset[str]], dict[str, Mapping[str, int]], set[str]]:
    """Definitions and references by name after `changed`, and the names defined or undefined."""
    defs = dict(defs_before)
    refs: dict[str, Mapping[str, int]] = dict(refs_before)
    touched_names: set[str] = set()
    copied: set[str] = set()

    def ref_map(name: str) -> dict[str, int]:
        if name not in copied:
            refs[name] = dict(refs.get(name, {}))
            copied.add(name)
        return refs[name]  # type: ignore[return-value]

    for path in changed:
        before, after = old.get(path), new.get(path)
        old_defs = {s.name for s in before.facts.symbols} if before else set()
        new_defs = {s.name for s in after.facts.symbols} if after else set()
        for name in old_defs - new_defs:
            remaining = defs[name] - {path}
            if remaining:
                defs[name] = remaining
            else:
                del defs[name]
            touched_names.add(name)
        for name in new_defs - old_defs:
            defs[name] = defs.get(name, frozenset()) | {path}
            touched_names.add(name)
        # only names whose count changed: a comment edit to a big file touches none
        old_refs = before.facts.refs if before else {}
        new_refs = after.facts.refs if after else {}
        for name in old_refs:
            if name not in new_refs:
                m = ref_map(name)
                m.pop(path, None)
                if not m:
                    del refs[name]
                    copied.discard(name)
        for name, n in new_refs.items():
            if old_refs.get(name) != n:
                ref_map(name)[path] = n
    return defs, refs, touched_names


def _patch_imports(
    before: Mapping[str, tuple[str, ...]],
    resolver: ImportResolver,
    new: Mapping[str, FileRecord],
    to_resolve: Iterable[str],
    gone: set[str],
    defs: Mapping[str, frozenset[str]],
) -> tuple[dict[str, tuple[str, ...]], set[str]]:
    """Resolved imports after re-resolving `to_resolve`, and the files whose imports differ."""
    imports_out = dict(before)
    for path in gone:
        imports_out.pop(path, None)
    dirty: set[str] = set()
    for path, targets in _resolve_all(resolver, new, to_resolve, defs, keep_empty=True).items():
        if imports_out.get(path, ()) != targets:
            dirty.add(path)
        if targets:
            imports_out[path] = targets
        else:
            imports_out.pop(path, None)
    return imports_out, dirty


def _resolver(records: Mapping[str, FileRecord], go_module: str) -> ImportResolver:
    return ImportResolver(((p, r.language, r.facts.package) for p, r in records.items()), go_module=go_module)


def _index_names(
    records: Mapping[str, FileRecord],
) -> tuple[dict[str, frozenset[str]], dict[str, dict[str, int]]]:
    """Definitions by name and references by name over all files."""
    defs: dict[str, set[str]] = {}
    refs: dict[str, dict[str, int]] = {}
    for path, rec in records.items():
        for sym in rec.facts.symbols:
            defs.setdefault(sym.name, set()).add(path)
        for name, n in rec.facts.refs.items():
            by_file = refs.get(name)
            if by_file is None:
                refs[name] = {path: n}
            else:
                by_file[path] = n
    return {k: frozenset(v) for k, v in defs.items()}, refs


def _resolve_all(
    resolver: ImportResolver,
    records: Mapping[str, FileRecord],
    paths: Iterable[str],
    defs: Mapping[str, frozenset[str]],
    keep_empty: bool = False,
) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for path in paths:
        rec = records[path]
        targets: set[str] = set()
        for imp in rec.facts.imports:
            targets.update(resolver.resolve(path, rec.language, imp, rec.facts.refs, defs))
        targets.discard(path)
        if targets or keep_empty:
            out[path] = tuple(sorted(targets))
    return out


class _SameDir:
    """Which of a name's defining files share a directory with a given file.

    Names defined in many files (`__init__`, `String`) are asked about thousands of
    times in one build; indexing their files by directory once keeps that linear.
    """

    def __init__(self, defs: Mapping[str, frozenset[str]]) -> None:
        self.defs = defs
        self.by_dir: dict[str, dict[str, set[str]]] = {}

    def __call__(self, name: str, others: frozenset[str], here: str) -> set[str]:
        if len(others) <= 16:
            return {o for o in others if o.rpartition("/")[0] == here}
        index = self.by_dir.get(name)
        if index is None:
            index = {}
            for o in self.defs[name]:
                index.setdefault(o.rpartition("/")[0], set()).add(o)
            self.by_dir[name] = index
        return index.get(here, set()) & others


def _call_edges(
    path: str,
    rec: FileRecord,
    defs: Mapping[str, frozenset[str]],
    imported: Iterable[str],
    same_dir: _SameDir,
) -> dict[str, float]:
    imported_set = set(imported)
    here = path.rpartition("/")[0]
    edges: dict[str, float] = {}
    for name, count in rec.facts.refs.items():
        if len(name) < MIN_NAME_LEN:
            continue
        cands = defs.get(name)
        if not cands:
            continue
        others = cands - {path} if path in cands else cands
        if not others:
            continue  # defined here only: a local use
        targets = (others & imported_set if imported_set else set()) or same_dir(name, others, here)
        if targets:
            share = 1.0 / len(targets)
        elif path in cands:
            continue  # the file defines the name itself; that is the likeliest meaning
        elif len(others) <= MAX_AMBIGUOUS_DEFS:
            targets = set(others)
            share = 1.0 / len(others) ** 2  # an unresolved guess among a few: weaker than a sure link
        else:
            continue
        w = share * (1.0 + math.log(count))
        for t in targets:
            edges[t] = edges.get(t, 0.0) + w
    return edges


def _patch_reverse_sets(
    rev: Mapping[str, frozenset[str]],
    before: Mapping[str, tuple[str, ...]],
    after: Mapping[str, tuple[str, ...]],
    sources: set[str],
) -> dict[str, frozenset[str]]:
    """`rev` updated for the out-edges of `sources` changing from `before` to `after`."""
    out = dict(rev)
    for src in sources:
        for d in before.get(src, ()):
            if d in out:
                left = out[d] - {src}
                if left:
                    out[d] = left
                else:
                    del out[d]
        for d in after.get(src, ()):
            out[d] = out.get(d, frozenset()) | {src}
    return out


def _patch_reverse_weights(
    rev: Mapping[str, Mapping[str, float]],
    before: Mapping[str, Mapping[str, float]],
    after: Mapping[str, Mapping[str, float]],
    sources: set[str],
) -> dict[str, Mapping[str, float]]:
    out = dict(rev)
    for src in sources:
        for d in before.get(src, {}):
            if d in out and src in out[d]:
                m = {k: v for k, v in out[d].items() if k != src}
                if m:
                    out[d] = m
                else:
                    del out[d]
        for d, w in after.get(src, {}).items():
            out[d] = {**out.get(d, {}), src: w}
    return out


def _reverse_sets(out: Mapping[str, tuple[str, ...]]) -> dict[str, frozenset[str]]:
    rev: dict[str, set[str]] = {}
    for src, dsts in out.items():
        for d in dsts:
            rev.setdefault(d, set()).add(src)
    return {k: frozenset(v) for k, v in rev.items()}


def _reverse_weights(out: Mapping[str, Mapping[str, float]]) -> dict[str, dict[str, float]]:
    rev: dict[str, dict[str, float]] = {}
    for src, dsts in out.items():
        for d, w in dsts.items():
            rev.setdefault(d, {})[src] = w
    return rev
