"""Ranking every file of a snapshot for an intent, with the reasons for each score.

Signals (see `weights.py`): lexical, symbol, path, graph, co-change, similar past
commits and churn, times a structure multiplier. Each signal is normalised over
the candidates so that weights compare like with like.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Generic, TypeVar, cast

from rtk_lsp.index.history import History
from rtk_lsp.index.languages import CONFIG_LANGUAGES, DOC_LANGUAGES, PARSED, SOURCE_LANGUAGES
from rtk_lsp.index.lexical import FIELDS, LexicalIndex
from rtk_lsp.model import DATA_KINDS, FileRecord, Symbol
from rtk_lsp.plan import weights as W
from rtk_lsp.plan.intent import Intent
from rtk_lsp.text import split_identifier, stem, term_counts, word_terms

_TEST_PATH = re.compile(
    r"(^|/)(tests?|__tests__|spec|specs|testing)/|(^|/)test_[^/]*$|_test\.\w+$|\.(test|spec)\.\w+$|_spec\.\w+$|(^|/)conftest\.py$"
)
_EXAMPLE_PATH = re.compile(r"(^|/)(examples?|fixtures?|testdata|benchmarks?|bench|samples?|demo|docs?)/")
_VENDORED_PATH = re.compile(r"(^|/)(third_party|thirdparty|3rdparty|external|extern|deps)/")


def file_class(rec: FileRecord) -> str:
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


def structure_multiplier(cls: str, intent: Intent) -> float:
    if cls == "source":
        return 1.0
    if cls == "test" and intent.kind == "test":
        return 1.0
    if cls == "doc" and intent.kind == "docs":
        return 1.0
    return W.STRUCTURE.get(cls, W.STRUCTURE["other"])


@lru_cache(maxsize=500_000)
def name_words(name: str) -> tuple[str, ...]:
    """Stemmed words of an identifier (cached: the same names recur in every plan)."""
    return tuple(stem(p) for p in split_identifier(name) if len(p) > 1)


@lru_cache(maxsize=200_000)
def doc_words(doc: str) -> frozenset[str]:
    return frozenset(term_counts(doc))


def _rankable(rec: FileRecord) -> bool:
    # Text files, and source files too big to read: their path and history still place them.
    return rec.is_text or (rec.kind == "large" and rec.language in PARSED)


MultiWord = tuple[str, Symbol, tuple[str, ...]]
OneWord = tuple[str, Symbol]


def _entry_key(entry: MultiWord | OneWord) -> tuple[str, int, str]:
    # one canonical order, however the lists were built: plans must not depend on history
    return entry[0], entry[1].start_line, entry[1].name


class Derived:
    """Lookups computed per snapshot and shared by every plan on it.

    A snapshot after an edit differs from the one before by a few files, so the
    lookups of the next snapshot are derived from the previous ones (`updated`):
    lists are replaced, never changed in place, so both stay valid.
    """

    def __init__(self, files: Mapping[str, FileRecord] | None = None) -> None:
        self.text: dict[str, FileRecord] = {}
        self.classes: dict[str, str] = {}
        # definitions by the first word of a multi-word name, and single-word names by lowercase
        self.multi_word: dict[str, list[MultiWord]] = {}
        self.one_word: dict[str, list[OneWord]] = {}
        self.by_stem: dict[str, list[str]] = {}
        self.by_dir: dict[str, list[str]] = {}
        if files is not None:
            self._change({}, files, set(files))

    def updated(self, old: Mapping[str, FileRecord], new: Mapping[str, FileRecord]) -> Derived:
        changed = {p for p, r in new.items() if old.get(p) is not r} | (old.keys() - new.keys())
        if len(changed) * 4 > len(new):
            return Derived(new)  # mostly new: building afresh is cheaper than patching
        d = Derived()
        d.text, d.classes = dict(self.text), dict(self.classes)
        d.multi_word, d.one_word = dict(self.multi_word), dict(self.one_word)
        d.by_stem, d.by_dir = dict(self.by_stem), dict(self.by_dir)
        d._change(old, new, changed)
        return d

    def _change(self, old: Mapping[str, FileRecord], new: Mapping[str, FileRecord], paths: set[str]) -> None:
        multi: dict[str, list[MultiWord]] = {}  # key -> entries to add
        one: dict[str, list[OneWord]] = {}
        gone_multi: set[str] = set()  # keys whose lists lose entries of `paths`
        gone_one: set[str] = set()
        stems: dict[str, list[str]] = {}
        dirs: dict[str, list[str]] = {}
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
                if after is None:
                    gone_paths.add(p)
            if after is None:
                continue
            self.text[p] = after
            self.classes[p] = file_class(after)
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


V = TypeVar("V")


class _Recent(Generic[V]):
    """Values computed for the last few key objects, found by identity.

    Snapshots, histories and file maps are large, unhashable and immutable: identity is
    the right key, and a few entries cover every workspace a server answers for.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: list[tuple[tuple[object, ...], V]] = []

    def newest(self) -> tuple[tuple[object, ...], V] | None:
        return self._items[0] if self._items else None

    def get(self, keys: tuple[object, ...], make: Callable[[], V]) -> V:
        for ks, value in self._items:
            if len(ks) == len(keys) and all(a is b for a, b in zip(ks, keys, strict=True)):
                return value
        value = make()
        self._items.insert(0, (keys, value))
        del self._items[self._size :]  # older ones are garbage after a refresh
        return value


_derived: _Recent[Derived] = _Recent(4)


def derived(files: Mapping[str, FileRecord]) -> Derived:
    def make() -> Derived:
        # the newest snapshot's lookups are usually one edit away from these
        newest = _derived.newest()
        if newest is None:
            return Derived(files)
        (previous_files,), lookups = newest
        return lookups.updated(cast(Mapping[str, FileRecord], previous_files), files)

    return _derived.get((files,), make)


@dataclass
class Ranked:
    path: str
    score: float
    features: dict[str, float]
    reasons: list[str]
    sources: list[str]
    matched: dict[str, str] = field(default_factory=dict)  # symbol qualified name -> why it matters


@dataclass(frozen=True)
class Query:
    """The task's terms with weights, and lookups derived from the intent."""

    terms: Mapping[str, float]
    identifiers: tuple[str, ...]
    words: frozenset[str]  # lowercased raw words, for whole-name matches


def build_query(intent: Intent, task: str) -> Query:
    weights: dict[str, float] = {}
    for t in intent.keywords:
        weights[t] = 1.0
    for ident in intent.identifiers:
        for part in re.split(r"\.|::|->|#", ident):
            for t in word_terms(part):
                weights[t] = max(weights.get(t, 0.0), 1.0)
    for p in intent.paths:
        for t in term_counts(p.replace("/", " ").replace(".", " ")):
            weights[t] = max(weights.get(t, 0.0), 1.0)
    words = frozenset(w.lower() for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", task))
    return Query(weights, intent.identifiers, words)


def _normalise(values: Mapping[str, float]) -> dict[str, float]:
    top = max(values.values(), default=0.0)
    if top <= 0:
        return {}
    return {k: v / top for k, v in values.items() if v > 0}


# ---- signals --------------------------------------------------------------------------------------


def lexical_scores(index: LexicalIndex, query: Query) -> dict[str, float]:
    total: dict[str, float] = {}
    for f in FIELDS:
        for path, s in index.bm25(f, query.terms).items():
            total[path] = total.get(path, 0.0) + W.FIELD_WEIGHTS[f] * s
    return total


def symbol_matches(
    d: Derived, defs: Mapping[str, frozenset[str]], query: Query
) -> tuple[dict[str, float], dict[str, dict[str, str]]]:
    """Files defining what the task names: exactly, or every word of a multi-word name."""
    scores: dict[str, float] = {}
    matched: dict[str, dict[str, str]] = {}

    def hit(path: str, sym: Symbol, strength: float, why: str) -> None:
        scores[path] = max(scores.get(path, 0.0), strength) + 0.05 * (path in scores)
        matched.setdefault(path, {}).setdefault(sym.qualified, why)

    wanted: dict[str, float] = {}
    for ident in query.identifiers:
        parts = [p for p in re.split(r"\.|::|->|#", ident) if p]
        for i, p in enumerate(parts):
            # the last part of `Class.method` is the thing itself; the others are its scope
            wanted[p] = max(wanted.get(p, 0.0), 1.0 if i == len(parts) - 1 else 0.8)
    for name, strength in wanted.items():
        for path in defs.get(name, ()):
            ndefs = len(defs[name])
            for sym in d.text[path].facts.symbols if path in d.text else ():
                if sym.name == name:
                    hit(
                        path, sym, strength / math.sqrt(ndefs), f"defines `{sym.qualified}` named in the task"
                    )
    # Names spelled out in words ("rebuild proxies" -> rebuild_proxies), or a plain word that is a name.
    term_set = set(query.terms)
    for term in sorted(term_set):
        for path, sym, words in d.multi_word.get(term, ()):
            if sym.name not in wanted and all(w in term_set for w in words):
                hit(path, sym, 0.7, f"defines `{sym.qualified}`, whose words are all in the task")
    for word in sorted(query.words):
        entries = d.one_word.get(word, ())
        if len(entries) > W.MAX_WORD_NAME_FILES:
            continue  # a word defined all over the place (`test`, `value`) names nothing in particular
        for path, sym in entries:
            if sym.name not in wanted:
                hit(path, sym, 0.45, f"defines `{sym.qualified}`, a word of the task")
    return {p: min(s, 1.0) for p, s in scores.items()}, matched


def path_matches(d: Derived, intent: Intent, query: Query) -> dict[str, tuple[float, str]]:
    out: dict[str, tuple[float, str]] = {}
    for word in sorted(query.words):
        if len(word) < 3:
            continue
        for path in d.by_dir.get(word, ()):
            if path not in out:
                out[path] = (0.3, f"in directory `{word}/` named in the task")
        for path in d.by_stem.get(word, ()):
            out[path] = (0.7, f"file name `{path.rsplit('/', 1)[-1]}` is a word of the task")
    for p in intent.paths:
        base = p.rsplit("/", 1)[-1].split(".", 1)[0].lower()
        for path in d.by_stem.get(base, ()):
            if path == p or path.endswith("/" + p):
                out[path] = (1.0, f"the task names `{p}`")
    return out


def spread(graph: Any, seeds: Mapping[str, float]) -> dict[str, tuple[float, str]]:
    """Two hops of relevance from the seeds through imports and calls; the strongest path wins.

    Each file passes relevance along its strongest links only: a hub imported by
    hundreds of files says little about any one of them.
    """
    out: dict[str, tuple[float, str]] = {}
    frontier: dict[str, float] = dict(seeds)
    decay = 1.0
    for _hop in range(2):
        nxt: dict[str, float] = {}
        for src, strength in frontier.items():
            for dst, w in graph.strongest_neighbours(src, W.LINKS_PER_FILE):
                if dst in seeds:
                    continue
                v = strength * decay * (w if w < 1.0 else 1.0)
                if v > out.get(dst, (0.0, ""))[0]:
                    out[dst] = (v, src)
                if v > nxt.get(dst, 0.0):
                    nxt[dst] = v
        frontier = dict(sorted(nxt.items(), key=lambda kv: (-kv[1], kv[0]))[: W.GRAPH_FRONTIER])
        decay = W.GRAPH_HOP_DECAY
    return out


def cochange_scores(history: History, seeds: Mapping[str, float]) -> dict[str, tuple[float, str, int, int]]:
    """P(file changes | seed changes), weighted by the seed's strength."""
    out: dict[str, tuple[float, str, int, int]] = {}
    for seed, strength in seeds.items():
        partners = history.cochange.get(seed)
        n_seed = history.counts.get(seed, 0)
        if not partners or n_seed == 0:
            continue
        for other, both in partners.items():
            if both < W.COCHANGE_MIN_COMMITS:
                continue  # one shared commit is a coincidence as often as a coupling
            # shrink small samples: 2 of 2 is weaker evidence than 7 of 9
            p = both / (n_seed + 2)
            v = strength * p
            if v > out.get(other, (0.0, "", 0, 0))[0]:
                out[other] = (v, seed, both, n_seed)
    return out


class _CommitIndex:
    """BM25 over past commit subjects, built once per history."""

    def __init__(self, history: History) -> None:
        self.postings: dict[str, list[tuple[int, int]]] = {}
        self.lengths: list[int] = []
        for i, c in enumerate(history.commits):
            counts = term_counts(c.subject)
            self.lengths.append(sum(counts.values()))
            for t, n in counts.items():
                self.postings.setdefault(t, []).append((i, n))
        self.avg = max(sum(self.lengths) / max(len(self.lengths), 1), 1.0)

    def search(self, terms: Mapping[str, float], limit: int) -> list[tuple[int, float]]:
        n = len(self.lengths)
        scores: dict[int, float] = {}
        for t, qw in terms.items():
            plist = self.postings.get(t)
            if not plist:
                continue
            idf = math.log(1.0 + (n - len(plist) + 0.5) / (len(plist) + 0.5)) * qw
            for i, tf in plist:
                norm = 1.2 * (0.25 + 0.75 * self.lengths[i] / self.avg)
                scores[i] = scores.get(i, 0.0) + idf * tf * 2.2 / (tf + norm)
        return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]


_commit_indexes: _Recent[_CommitIndex] = _Recent(8)


def _commit_index(history: History) -> _CommitIndex:
    return _commit_indexes.get((history,), lambda: _CommitIndex(history))


def similar_commit_scores(
    history: History, query: Query, files: Mapping[str, FileRecord]
) -> dict[str, tuple[float, str]]:
    if not history.commits or not query.terms:
        return {}
    out: dict[str, tuple[float, str]] = {}
    for i, s in _commit_index(history).search(query.terms, W.SIMILAR_COMMITS):
        c = history.commits[i]
        present = [f for f in c.files if f in files]
        if not present:
            continue
        share = s / math.sqrt(len(present))
        for f in present:
            if share > out.get(f, (0.0, ""))[0]:
                out[f] = (share, c.subject)
    return out


# ---- combination ----------------------------------------------------------------------------------


def rank(
    files: Mapping[str, FileRecord],
    lexical: LexicalIndex,
    graph: Any,
    history: History,
    intent: Intent,
    query: Query,
    limit: int = W.EXPLAINED_LIMIT,
) -> tuple[list[Ranked], int]:
    """The best `limit` files, explained, and how many files scored at all."""
    d = derived(files)
    text_files = d.text
    lex = _normalise(lexical_scores(lexical, query))
    sym, matched = symbol_matches(d, graph.defs, query)
    paths = path_matches(d, intent, query)
    mult = {cls: structure_multiplier(cls, intent) for cls in set(d.classes.values())}

    first: dict[str, float] = {}
    for p in lex.keys() | sym.keys() | paths.keys():
        first[p] = (
            W.SIGNAL_WEIGHTS["lexical"] * lex.get(p, 0.0)
            + W.SIGNAL_WEIGHTS["symbol"] * sym.get(p, 0.0)
            + W.SIGNAL_WEIGHTS["path"] * paths.get(p, (0.0, ""))[0]
        ) * mult[d.classes[p]]
    top = sorted(first, key=lambda p: (-first[p], p))[: W.SEEDS]
    best = first[top[0]] if top else 0.0
    seeds = {p: first[p] / best for p in top} if best > 0 else {}

    linked = spread(graph, seeds)
    graph_n = _normalise({p: v for p, (v, _) in linked.items() if p in text_files})
    co = cochange_scores(history, seeds)
    co_n = _normalise({p: v[0] for p, v in co.items() if p in text_files})
    similar = similar_commit_scores(history, query, text_files)
    sim_n = _normalise({p: v for p, (v, _) in similar.items()})
    churn_n = _churn(history, text_files)

    signals = {
        "lexical": lex,
        "symbol": sym,
        "path": {p: v for p, (v, _) in paths.items()},
        "graph": graph_n,
        "cochange": co_n,
        "similar_commits": sim_n,
        "churn": churn_n,
    }
    scores: dict[str, float] = {}
    for name, values in signals.items():
        w = W.SIGNAL_WEIGHTS[name]
        for p, v in values.items():
            scores[p] = scores.get(p, 0.0) + w * v
    scored = []
    for p, raw in scores.items():
        score = raw * mult[d.classes[p]]
        if score >= W.MIN_SCORE:
            scored.append((round(score, 6), p))
    scored.sort(key=lambda t: (-t[0], t[1]))

    ranked: list[Ranked] = []
    for score, p in scored[:limit]:
        feats = {name: round(values.get(p, 0.0), 4) for name, values in signals.items()}
        feats["structure"] = mult[d.classes[p]]
        reasons, sources = _explain(p, feats, paths, matched, linked, co, similar, history, d.classes[p], lex)
        rec = text_files[p]
        if rec.kind == "large":
            reasons.append(f"{rec.size // 1024} KiB: too large to index its text; placed by path and history")
        ranked.append(Ranked(p, score, feats, reasons, sources, matched.get(p, {})))
    return ranked, len(scored)


_churns: _Recent[dict[str, float]] = _Recent(4)


def _churn(history: History, text_files: Mapping[str, FileRecord]) -> dict[str, float]:
    """Log-scaled churn normalised to [0, 1]; the same for every plan on a snapshot, so cached."""
    return _churns.get(
        (history, text_files),
        lambda: _normalise({p: math.log1p(c) for p, c in history.churn.items() if p in text_files}),
    )


def _explain(
    path: str,
    feats: Mapping[str, float],
    paths: Mapping[str, tuple[float, str]],
    matched: Mapping[str, Mapping[str, str]],
    linked: Mapping[str, tuple[float, str]],
    co: Mapping[str, tuple[float, str, int, int]],
    similar: Mapping[str, tuple[float, str]],
    history: History,
    cls: str,
    lex: Mapping[str, float],
) -> tuple[list[str], list[str]]:
    reasons: list[str] = []
    sources: list[str] = []
    if path in matched:
        reasons.extend(list(matched[path].values())[:3])
        sources.append("symbol")
    if path in paths:
        reasons.append(paths[path][1])
        sources.append("path")
    if feats["lexical"] >= 0.2:
        reasons.append(f"task words in its text (lexical {feats['lexical']:.2f})")
        sources.append("lexical")
    if feats["graph"] > 0 and path in linked:
        reasons.append(f"linked by imports/calls to `{linked[path][1]}`")
        sources.append("graph")
    if feats["cochange"] > 0 and path in co:
        _, seed, both, n = co[path]
        reasons.append(f"changed with `{seed}` in {both} of {n} commits")
        sources.append("cochange")
    if feats["similar_commits"] > 0 and path in similar:
        subject = similar[path][1]
        reasons.append(f"touched by a similar past commit: “{subject[:80]}”")
        sources.append("history")
    n_changes = history.counts.get(path, 0)
    if feats["churn"] >= 0.5 and n_changes >= 2:  # one change is not "often"
        reasons.append(f"changed often lately ({n_changes} of the last {len(history.commits)} commits)")
        sources.append("churn")
    if cls != "source":
        reasons.append(f"{cls} file (weight x{feats['structure']:.2f})")
    if not reasons and lex.get(path):
        reasons.append(f"task words in its text (lexical {feats['lexical']:.2f})")
        sources.append("lexical")
    return reasons, sources
