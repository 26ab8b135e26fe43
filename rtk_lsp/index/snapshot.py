"""The contract between the index and the plan: an immutable `Snapshot` of one workspace.

A snapshot holds in-memory structures only: the files with their extracted facts, the
lexical index, the file graph, the commits of HEAD, and the lookups every plan on it
shares. The I/O side (scan, analyze, store, history, workspace) produces snapshots; the
pure side (`rtk_lsp.plan`) reads them and imports nothing else from `rtk_lsp.index`.
Importing this module loads no parser, database, process pool or git.

The lookups are made on first use and kept by the snapshot that owns them. A snapshot
after an edit differs from the one before by a few files, so its lookups are patched from
the nearest earlier snapshot whose lookups were made, not rebuilt.
"""

from __future__ import annotations

import math
import os
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import InitVar, dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, Literal

from rtk_lsp.index.commits import Commit, History
from rtk_lsp.index.graph import Graph
from rtk_lsp.index.languages import (
    CONFIG_LANGUAGES,
    DOC_LANGUAGES,
    KNOWN_EXTENSIONS,
    PARSED,
    SOURCE_LANGUAGES,
)
from rtk_lsp.index.lexical import FIELDS as LEXICAL_FIELDS
from rtk_lsp.index.lexical import LexicalIndex
from rtk_lsp.model import DATA_KINDS, FileRecord, Symbol
from rtk_lsp.text import name_words

__all__ = [
    "KNOWN_EXTENSIONS",
    "LEXICAL_FIELDS",
    "Commit",
    "FileClass",
    "Graph",
    "History",
    "LexicalIndex",
    "Lookups",
    "Snapshot",
    "file_class",
    "literal_words",
    "normalised",
]

FileClass = Literal["source", "test", "doc", "config", "declaration", "example", "vendored", "other"]

_TEST_PATH = re.compile(
    r"(^|/)(tests?|__tests__|spec|specs|testing)/|(^|/)test_[^/]*$|_test\.\w+$|\.(test|spec)\.\w+$|_spec\.\w+$|(^|/)conftest\.py$"
)
_EXAMPLE_PATH = re.compile(r"(^|/)(examples?|fixtures?|testdata|benchmarks?|bench|samples?|demo|docs?)/")
_VENDORED_PATH = re.compile(r"(^|/)(third_party|thirdparty|3rdparty|external|extern|deps)/")


def file_class(rec: FileRecord) -> FileClass:
    """The structural class of a file: source, test, doc, config, example, vendored or other."""
    path = rec.rel_path
    if _VENDORED_PATH.search(path):
        return "vendored"
    if _TEST_PATH.search(path):
        return "test"
    if rec.language in DOC_LANGUAGES:
        return "doc"
    if rec.language in CONFIG_LANGUAGES:
        return "config"
    if path.endswith((".pyi", ".d.ts")):
        return "declaration"
    if _EXAMPLE_PATH.search(path):
        return "example"
    if rec.language in SOURCE_LANGUAGES:
        return "source"
    return "other"


def normalised(values: Mapping[str, float]) -> dict[str, float]:
    """Positive values divided by the largest, so that the best is 1; empty if none is positive."""
    top = max(values.values(), default=0.0)
    if top <= 0:
        return {}
    return {k: v / top for k, v in values.items() if v > 0}


def _rankable(rec: FileRecord) -> bool:
    # Text files, and source files too big to read: their path and history still place them.
    return rec.is_text or (rec.kind == "large" and rec.language in PARSED)


MultiWord = tuple[str, Symbol, tuple[str, ...]]
OneWord = tuple[str, Symbol]


def _entry_key(entry: MultiWord | OneWord) -> tuple[str, int, str]:
    # one canonical order, however the lists were built: plans must not depend on history
    return entry[0], entry[1].start_line, entry[1].name


class Lookups:
    """What every plan on a snapshot looks files up by: rankable files, their classes, names, paths.

    `updated` derives the lookups of a next set of files from these: lists are replaced,
    never changed in place, so both stay valid (and equal to a fresh build).
    """

    def __init__(self, files: Mapping[str, FileRecord] | None = None) -> None:
        self.text: dict[str, FileRecord] = {}  # rankable files
        self.classes: dict[str, FileClass] = {}
        # definitions by the first word of a multi-word name, and single-word names by lowercase
        self.multi_word: dict[str, list[MultiWord]] = {}
        self.one_word: dict[str, list[OneWord]] = {}
        self.by_stem: dict[str, list[str]] = {}  # file name without extension -> paths
        self.by_dir: dict[str, list[str]] = {}  # directory name -> paths below it
        # words of the string literals -> rankable files whose literals hold them: where a message
        # the task quotes can be printed from, found by lookup rather than by a scan of every file's strings
        self.literal_words: dict[str, list[str]] = {}
        if files is not None:
            self._change({}, files, set(files))

    def updated(self, old: Mapping[str, FileRecord], new: Mapping[str, FileRecord]) -> Lookups:
        changed = _changed(old, new)
        if _mostly(changed, new):
            return Lookups(new)  # building afresh is cheaper than patching
        d = Lookups()
        d.text, d.classes = dict(self.text), dict(self.classes)
        d.multi_word, d.one_word = dict(self.multi_word), dict(self.one_word)
        d.by_stem, d.by_dir = dict(self.by_stem), dict(self.by_dir)
        d.literal_words = dict(self.literal_words)
        d._change(old, new, changed)
        return d

    def _change(self, old: Mapping[str, FileRecord], new: Mapping[str, FileRecord], paths: set[str]) -> None:
        multi: dict[str, list[MultiWord]] = {}  # key -> entries to add
        one: dict[str, list[OneWord]] = {}
        gone_multi: set[str] = set()  # keys whose lists lose entries of `paths`
        gone_one: set[str] = set()
        stems: dict[str, list[str]] = {}
        dirs: dict[str, list[str]] = {}
        said: dict[str, list[str]] = {}  # literal word -> files that gain it
        unsaid: dict[str, set[str]] = {}  # literal word -> files that lose it
        gone_paths: set[str] = set()
        for p in sorted(paths):
            before = old.get(p) if p in self.text else None
            after = new.get(p)
            after = after if after is not None and _rankable(after) else None
            if before is not None:
                for sym in before.facts.symbols:
                    if sym.kind in DATA_KINDS:
                        continue
                    words = name_words(sym.name)
                    if len(words) >= 2:
                        gone_multi.add(words[0])
                    elif len(words) == 1 and len(sym.name) >= 4:
                        gone_one.add(sym.name.lower())
                del self.text[p], self.classes[p]
                for w in literal_words(before.facts.strings):
                    unsaid.setdefault(w, set()).add(p)
                if after is None:
                    gone_paths.add(p)
            if after is None:
                continue
            self.text[p] = after
            self.classes[p] = file_class(after)
            for w in literal_words(after.facts.strings):
                said.setdefault(w, []).append(p)
            for sym in after.facts.symbols:
                if sym.kind in DATA_KINDS:
                    continue
                words = name_words(sym.name)
                if len(words) >= 2:
                    multi.setdefault(words[0], []).append((p, sym, words))
                elif len(words) == 1 and len(sym.name) >= 4:
                    one.setdefault(sym.name.lower(), []).append((p, sym))
            if before is None:
                parts = p.split("/")
                stems.setdefault(parts[-1].split(".", 1)[0].lower(), []).append(p)
                for part in parts[:-1]:
                    dirs.setdefault(part.lower(), []).append(p)
        _merge(self.multi_word, multi, gone_multi, paths)
        _merge(self.one_word, one, gone_one, paths)
        for index, added in ((self.by_stem, stems), (self.by_dir, dirs)):
            touched = set(added)
            if gone_paths:
                touched |= {k for k, v in index.items() if not gone_paths.isdisjoint(v)}
            for key in touched:
                kept = [p for p in index.get(key, ()) if p not in gone_paths] + added.get(key, [])
                if kept:
                    index[key] = sorted(kept)
                else:
                    index.pop(key, None)
        for w in said.keys() | unsaid.keys():
            lost = unsaid.get(w, set())
            kept = [p for p in self.literal_words.get(w, ()) if p not in lost] + said.get(w, [])
            if kept:
                self.literal_words[w] = sorted(kept)
            else:
                self.literal_words.pop(w, None)


_LITERAL_WORD = re.compile(r"[a-z0-9]+")


def literal_words(strings: tuple[str, ...]) -> frozenset[str]:
    """The words of a file's string literals, as a message quoting them spells them (lowercased);
    numbers and single letters are the variable parts of messages, not what finds them."""
    return frozenset(
        w for w in _LITERAL_WORD.findall(" ".join(strings).lower()) if len(w) > 1 and not w.isdigit()
    )


def _merge(
    index: dict[str, list[Any]], added: dict[str, list[Any]], emptied: set[str], paths: set[str]
) -> None:
    """Replace the lists of `index` that lose entries of `paths` or gain `added` ones."""
    for key in emptied | added.keys():
        kept = [e for e in index.get(key, ()) if e[0] not in paths] + added.get(key, [])
        if kept:
            index[key] = sorted(kept, key=_entry_key)
        else:
            index.pop(key, None)


def _changed(old: Mapping[str, FileRecord], new: Mapping[str, FileRecord]) -> set[str]:
    return {p for p, r in new.items() if old.get(p) is not r} | (old.keys() - new.keys())


def _mostly(changed: set[str], new: Mapping[str, FileRecord]) -> bool:
    return len(changed) * 4 > len(new)


class _LookupsCell:
    """A snapshot's lookups, made on first use from the nearest earlier snapshot's that were made."""

    __slots__ = ("_base", "_files", "_lock", "_value")

    def __init__(self, files: Mapping[str, FileRecord], previous: _LookupsCell | None) -> None:
        self._files = files
        self._value: Lookups | None = None
        # Held while they are made: a plan that asks meanwhile (the engine makes them in a worker
        # once the index is ready) waits for them rather than making them a second time.
        self._lock = threading.Lock()
        # At most one made ancestor is kept: refreshes without a plan between them must not
        # keep every earlier snapshot's files alive.
        self._base: _LookupsCell | None = (
            previous if previous is None or previous._value is not None else previous._base
        )

    def get(self) -> Lookups:
        value = self._value
        if value is None:
            with self._lock:
                value = self._make()
        return value

    def _make(self) -> Lookups:
        """The lookups, made if they are not yet; the caller holds the lock."""
        value = self._value
        if value is None:
            base = self._base
            if base is not None and base._value is not None:
                value = base._value.updated(base._files, self._files)
            else:
                value = Lookups(self._files)
            self._value, self._base = value, None
        return value

    def make_if_afresh(self, then: Callable[[], None]) -> bool:
        """Make the lookups now if `get` would make them from nothing rather than patch a made
        ancestor's, and run `then` before a plan waiting for them goes on; whether it did."""
        base = self._base
        if self._value is not None or (
            base is not None
            and base._value is not None
            and not _mostly(_changed(base._files, self._files), self._files)
        ):
            return False
        with self._lock:
            self._make()
            then()
        return True

    def __getstate__(self) -> tuple[Mapping[str, FileRecord], Lookups | None]:
        return self._files, self._value  # a pickled snapshot stands alone

    def __setstate__(self, state: tuple[Mapping[str, FileRecord], Lookups | None]) -> None:
        self._files, self._value = state
        self._lock = threading.Lock()
        self._base = None


@dataclass(frozen=True, eq=False)
class Snapshot:
    """Everything a plan reads, frozen at one moment."""

    root: str
    generation: int
    files: Mapping[str, FileRecord]
    lexical: LexicalIndex
    graph: Graph
    history: History
    cache: Mapping[str, int]  # hits / misses of the refresh that made this snapshot, and totals
    timings_ms: Mapping[str, float]
    refreshed_at: float
    notes: tuple[str, ...] = ()
    previous: InitVar[Snapshot | None] = None  # the snapshot this one follows, for its lookups
    _lookups: _LookupsCell = field(init=False, repr=False)

    def __post_init__(self, previous: Snapshot | None) -> None:
        cell = _LookupsCell(self.files, previous._lookups if previous is not None else None)
        object.__setattr__(self, "_lookups", cell)

    @property
    def lookups(self) -> Lookups:
        return self._lookups.get()

    def prepare(self, then: Callable[[], None] = lambda: None) -> bool:
        """Make now, rather than in the first plan, what every plan reads and a snapshot makes on
        first use: the commit subjects' index of a new HEAD, and the lookups when they are made
        from nothing (a first snapshot, a change of most files: a branch switch). Whether the
        lookups were made; after a small change they are patched when a plan asks.

        `then` runs after the lookups are made and before a plan that waits for them goes on
        (the engine collects there: the plan waits anyway, a later one would not)."""
        _ = self.history.subjects  # shared by the snapshots of one history: made once per HEAD
        if not self._lookups.make_if_afresh(then):
            return False
        _ = self.churn
        return True

    @cached_property
    def churn(self) -> Mapping[str, float]:
        """Log-scaled churn of the rankable files normalised to [0, 1]: the same for every plan here."""
        text = self.lookups.text
        return normalised({p: math.log1p(c) for p, c in self.history.churn.items() if p in text})

    def summary(self) -> dict[str, Any]:
        languages: dict[str, int] = {}
        symbols = references = 0
        for rec in self.files.values():
            languages[rec.language] = languages.get(rec.language, 0) + 1
            symbols += len(rec.facts.symbols)
            references += sum(rec.facts.refs.values())
        return {
            "root": self.root,
            "files": len(self.files),
            "languages": dict(sorted(languages.items(), key=lambda kv: (-kv[1], kv[0]))),
            "symbols": symbols,
            "references": references,
            "edges": {"imports": self.graph.import_edges, "calls": self.graph.call_edges},
            "history": {
                "head": self.history.head,
                "commits": len(self.history.commits),
                "note": self.history.note,
            },
            "cache": dict(self.cache),
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
            "memory_mb": round(rss_mb(), 1),
            "last_refresh": datetime.fromtimestamp(self.refreshed_at, UTC).isoformat(timespec="seconds"),
            "generation": self.generation,
            "notes": list(self.notes),
        }


def rss_mb() -> float:
    """Resident memory of this process (the state of every folder shares it)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0
