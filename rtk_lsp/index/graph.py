"""The file graph: resolved imports plus calls from references to definitions.

A reference to a name is linked to the files defining it, preferring what the
referencing file imports, then its own directory (Go packages, C units), then a
unique definition anywhere. Names defined in many files (`run`, `get`) link
nowhere: they would connect everything to everything.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from rtk_lsp.index.resolve import ImportResolver
from rtk_lsp.model import FileRecord

MAX_AMBIGUOUS_DEFS = 4  # beyond this many defining files a name is too common to mean an edge
MIN_NAME_LEN = 3


def _dir(path: str) -> str:
    return path.rsplit("/", 1)[0] if "/" in path else ""


@dataclass(frozen=True)
class Graph:
    defs: Mapping[str, frozenset[str]]  # symbol name -> files defining it
    refs: Mapping[str, Mapping[str, int]]  # name -> {file referencing it: count}
    imports_out: Mapping[str, tuple[str, ...]]  # file -> files it imports
    calls_out: Mapping[str, Mapping[str, float]]  # file -> {file whose definitions it uses: weight}
    imports_in: Mapping[str, frozenset[str]]
    calls_in: Mapping[str, Mapping[str, float]]

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

    def callers(self, name: str, def_path: str) -> list[str]:
        """Files that reference `name` and resolve it to `def_path`."""
        return sorted(
            f for f in self.refs.get(name, {}) if def_path in self.calls_out.get(f, {}) and f != def_path
        )

    # ---- construction -------------------------------------------------------------------------

    @classmethod
    def build(cls, records: Mapping[str, FileRecord], go_module: str = "") -> Graph:
        empty = cls({}, {}, {}, {}, {}, {})
        return empty.updated({}, records, set(records), go_module)

    def updated(
        self,
        old: Mapping[str, FileRecord],
        new: Mapping[str, FileRecord],
        changed: set[str],
        go_module: str = "",
    ) -> Graph:
        """The graph of `new`, given this graph of `old` and the paths that differ between them."""
        if not changed:
            return self
        defs = {k: set(v) for k, v in self.defs.items()}
        refs: dict[str, dict[str, int]] = dict(self.refs)  # type: ignore[arg-type]
        touched_names: set[str] = set()
        copied: set[str] = set()

        def ref_map(name: str) -> dict[str, int]:
            if name not in copied:
                refs[name] = dict(refs.get(name, {}))
                copied.add(name)
            return refs[name]

        for path in changed:
            before, after = old.get(path), new.get(path)
            old_defs = {s.name for s in before.facts.symbols} if before else set()
            new_defs = {s.name for s in after.facts.symbols} if after else set()
            for name in old_defs - new_defs:
                defs[name].discard(path)
                if not defs[name]:
                    del defs[name]
                touched_names.add(name)
            for name in new_defs - old_defs:
                defs.setdefault(name, set()).add(path)
                touched_names.add(name)
            if before:
                for name in before.facts.refs:
                    m = ref_map(name)
                    m.pop(path, None)
                    if not m:
                        del refs[name]
                        copied.discard(name)
            if after:
                for name, n in after.facts.refs.items():
                    ref_map(name)[path] = n
        frozen_defs = {k: frozenset(v) for k, v in defs.items()}

        files_changed = set(old) != set(new)
        imports_out = dict(self.imports_out)
        for path in changed - set(new):
            imports_out.pop(path, None)
        # A new or deleted file can change how any import resolves; re-resolving all is cheap.
        to_resolve = set(new) if files_changed else changed & set(new)
        import_dirty: set[str] = set()
        if to_resolve:
            resolver = ImportResolver(
                ((p, r.language, r.facts.package) for p, r in new.items()), go_module=go_module
            )
            for path in to_resolve:
                rec = new[path]
                targets: set[str] = set()
                for imp in rec.facts.imports:
                    targets.update(resolver.resolve(path, rec.language, imp))
                targets.discard(path)
                resolved = tuple(sorted(targets))
                if imports_out.get(path) != resolved:
                    import_dirty.add(path)
                if resolved:
                    imports_out[path] = resolved
                else:
                    imports_out.pop(path, None)

        # Files whose call edges may differ: changed ones, new importers, users of re-defined names.
        redo = (changed & set(new)) | import_dirty
        for name in touched_names:
            redo.update(refs.get(name, {}))
        calls_out = dict(self.calls_out)
        for path in changed - set(new):
            calls_out.pop(path, None)
        for path in redo:
            edges = _call_edges(path, new[path], frozen_defs, imports_out.get(path, ()))
            if edges:
                calls_out[path] = edges
            else:
                calls_out.pop(path, None)

        imports_in = _reverse_sets(imports_out)
        calls_in = _reverse_weights(calls_out)
        return Graph(frozen_defs, refs, imports_out, calls_out, imports_in, calls_in)


def _call_edges(
    path: str, rec: FileRecord, defs: Mapping[str, frozenset[str]], imported: Iterable[str]
) -> dict[str, float]:
    imported_set = set(imported)
    here = _dir(path)
    edges: dict[str, float] = {}
    for name, count in rec.facts.refs.items():
        if len(name) < MIN_NAME_LEN:
            continue
        cands = defs.get(name)
        if not cands:
            continue
        others = cands - {path}
        if not others:
            continue  # defined here only: a local use
        targets = others & imported_set or {o for o in others if _dir(o) == here}
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
