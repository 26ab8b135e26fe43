"""Ranking every file of a snapshot for an intent, with the reasons for each score.

Signals (see `weights.py`): lexical, symbol, path, graph, co-change, similar past
commits and churn, times a structure multiplier. Each signal is normalised over
the candidates so that weights compare like with like.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from rtk_lsp.index.snapshot import (
    LEXICAL_FIELDS,
    FileClass,
    Graph,
    History,
    LexicalIndex,
    Lookups,
    Snapshot,
    normalised,
)
from rtk_lsp.model import FileRecord, Symbol
from rtk_lsp.plan import weights as W
from rtk_lsp.plan.anchors import Hits, code_hits, literal_hits, symbols_named, traceback_hits
from rtk_lsp.plan.result import Intent, Source
from rtk_lsp.plan.task import TaskParts, read_task
from rtk_lsp.text import term_counts, word_terms


def structure_multiplier(cls: FileClass, intent: Intent) -> float:
    if cls == "source":
        return 1.0
    if cls == "test" and intent.kind == "test":
        return 1.0
    if cls == "doc" and intent.kind == "docs":
        return 1.0
    return W.STRUCTURE.get(cls, W.STRUCTURE["other"])


@dataclass
class Ranked:
    path: str
    score: float
    features: dict[str, float]
    reasons: list[str]
    sources: list[Source]
    matched: dict[str, str] = field(default_factory=dict)  # symbol qualified name -> why it matters


@dataclass(frozen=True)
class Query:
    """The task's terms with weights, and lookups derived from the intent."""

    terms: Mapping[str, float]
    identifiers: tuple[str, ...]
    words: frozenset[str]  # lowercased raw words, for whole-name matches
    condensed: bool = False  # the task was too long to read whole


def build_query(
    intent: Intent, task: str, code_words: str = "", title: str = "", condensed: bool = False
) -> Query:
    weights: dict[str, float] = {}
    # the words of code and tracebacks hint, prose decides: they never outweigh a prose word
    for t in term_counts(code_words):
        weights[t] = W.CODE_TERMS
    for word in intent.keywords:
        for t in word_terms(word):
            weights[t] = 1.0
    for ident in intent.identifiers:
        for part in re.split(r"\.|::|->|#", ident):
            for t in word_terms(part):
                weights[t] = max(weights.get(t, 0.0), 1.0)
    for p in intent.paths:
        for t in term_counts(p.replace("/", " ").replace(".", " ")):
            weights[t] = max(weights.get(t, 0.0), 1.0)
    # an issue's title (a commit's subject) says in a line what the rest says at length
    for t in term_counts(title):
        if weights.get(t, 0.0) >= 1.0:
            weights[t] = W.TITLE_TERMS
    cap = W.CONDENSED_QUERY_TERMS if condensed else W.MAX_QUERY_TERMS
    if len(weights) > cap:  # a long task: its strongest terms, earliest first
        kept = sorted(weights, key=lambda t: -weights[t])[:cap]
        weights = {t: weights[t] for t in kept}
    words = frozenset(w.lower() for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", task)[: cap * 2])
    return Query(weights, intent.identifiers[:cap], words, condensed)


# ---- signals --------------------------------------------------------------------------------------


def lexical_scores(index: LexicalIndex, query: Query) -> dict[str, float]:
    total: dict[str, float] = {}
    for f in LEXICAL_FIELDS:
        terms = query.terms
        if query.condensed or len(terms) > W.LONG_QUERY:
            # a long task: words in a large share of the files cost the most and tell the least
            common = W.COMMON_SHARE * max(index.doc_count, 1)
            plists = index.postings[f]
            terms = {t: w for t, w in terms.items() if len(plists.get(t, ())) <= common}
        for path, s in index.bm25(f, terms).items():
            total[path] = total.get(path, 0.0) + W.FIELD_WEIGHTS[f] * s
    return total


def symbol_matches(
    d: Lookups, defs: Mapping[str, frozenset[str]], query: Query
) -> tuple[dict[str, float], dict[str, dict[str, str]]]:
    """Files defining what the task names: exactly, or every word of a multi-word name."""
    scores: dict[str, float] = {}
    matched: dict[str, dict[str, str]] = {}

    def hit(path: str, sym: Symbol, strength: float, why: str) -> None:
        scores[path] = max(scores.get(path, 0.0), strength) + 0.05 * (path in scores)
        matched.setdefault(path, {}).setdefault(sym.qualified, why)

    wanted: dict[str, float] = {}
    owners: dict[str, set[str]] = {}  # `Class.method`: the method is wanted where Class defines it
    for ident in query.identifiers:
        parts = [p for p in re.split(r"\.|::|->|#", ident) if p]
        for i, p in enumerate(parts):
            # the last part of `Class.method` is the thing itself; the others are its scope
            wanted[p] = max(wanted.get(p, 0.0), 1.0 if i == len(parts) - 1 else 0.8)
            if i:
                owners.setdefault(p, set()).add(parts[i - 1])
    for name, strength in wanted.items():
        defining = defs.get(name, ())
        syms = [(path, sym) for path in defining for sym in _defined(d, path, name)]
        scopes = owners.get(name, set())
        # the scope is a class (`Dataset.update`) or a module (`irradiance.reindl`)
        owned = [(p, sym) for p, sym in syms if sym.parent in scopes or _stem(p) in scopes]
        if owned:
            syms, ndefs = owned, len({path for path, _ in owned})
        elif name.startswith("__"):
            continue  # `RST.__init__` where RST has no `__init__`: not every class's `__init__`
        else:
            ndefs = len(defining)
        for path, sym in syms:
            hit(path, sym, strength / math.sqrt(ndefs), f"defines `{sym.qualified}` named in the task")
    # Names spelled out in words ("rebuild proxies" -> rebuild_proxies), or a plain word that is a name;
    # the prose's words only, not the weaker hints from code
    term_set = {t for t, w in query.terms.items() if w >= 1.0}
    for term in sorted(term_set):
        for path, sym, words in d.multi_word.get(term, ()):
            if sym.name not in wanted and term_set.issuperset(words):
                hit(path, sym, 0.7, f"defines `{sym.qualified}`, whose words are all in the task")
    for word in sorted(query.words):
        entries = d.one_word.get(word, ())
        if len(entries) > W.MAX_WORD_NAME_FILES:
            continue  # a word defined all over the place (`test`, `value`) names nothing in particular
        for path, sym in entries:
            if sym.name not in wanted:
                hit(path, sym, 0.45, f"defines `{sym.qualified}`, a word of the task")
    return {p: min(s, 1.0) for p, s in scores.items()}, matched


def _defined(d: Lookups, path: str, name: str) -> list[Symbol]:
    rec = d.text.get(path)
    return symbols_named(rec, name) if rec is not None else []


def _stem(path: str) -> str:
    return path.rsplit("/", 1)[-1].split(".", 1)[0]


def path_matches(d: Lookups, intent: Intent, query: Query) -> dict[str, tuple[float, str]]:
    out: dict[str, tuple[float, str]] = {}
    for word in sorted(query.words):
        if len(word) < 3:
            continue
        for path in d.by_dir.get(word, ()):
            if path not in out:
                out[path] = (0.3, f"in directory `{word}/` named in the task")
        stems = d.by_stem.get(word, ())
        if len(stems) > W.MAX_WORD_NAME_FILES:
            continue  # `__init__`, `utils`: a file name that many files have names none of them
        for path in stems:
            out[path] = (0.7, f"file name `{path.rsplit('/', 1)[-1]}` is a word of the task")
    for p in intent.paths:
        base = p.rsplit("/", 1)[-1].split(".", 1)[0].lower()
        named = [path for path in d.by_stem.get(base, ()) if path == p or path.endswith("/" + p)]
        if len(named) > W.MAX_AMBIGUOUS_PATHS:
            continue  # a bare `__init__.py`: the task names one of dozens, not which
        for path in named:
            out[path] = (1.0, f"the task names `{p}`")
    return out


def spread(graph: Graph, seeds: Mapping[str, float]) -> dict[str, tuple[float, str]]:
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


def similar_commit_scores(
    history: History, query: Query, files: Mapping[str, FileRecord]
) -> dict[str, tuple[float, str]]:
    if not history.commits or not query.terms:
        return {}
    out: dict[str, tuple[float, str]] = {}
    for i, s in history.subjects.search(query.terms, W.SIMILAR_COMMITS):
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
    snapshot: Snapshot,
    intent: Intent,
    query: Query,
    parts: TaskParts | None = None,
    limit: int = W.EXPLAINED_LIMIT,
) -> tuple[list[Ranked], int]:
    """The best `limit` files, explained, and how many files scored at all."""
    d = snapshot.lookups
    graph, history = snapshot.graph, snapshot.history
    text_files = d.text
    parts = parts if parts is not None else read_task(" ".join(query.words))
    lex = normalised(lexical_scores(snapshot.lexical, query))
    sym, matched = symbol_matches(d, graph.defs, query)
    paths = path_matches(d, intent, query)
    anchors: dict[Source, Hits] = {
        "traceback": traceback_hits(
            d.by_dir, d.by_stem, text_files, graph.defs, parts.frames, parts.error_names
        ),
        "code": code_hits(d.by_dir, d.by_stem, text_files, graph.defs, graph.refs, parts),
        "literal": literal_hits(text_files, d.literal_words, parts),
    }
    # what the budget lists first in a file: definitions the task names, its frames, its code's calls
    named: dict[str, dict[str, str]] = {p: dict(m) for p, m in matched.items()}
    for hits in anchors.values():
        for p, syms in hits.symbols.items():
            for q, why in syms.items():
                named.setdefault(p, {}).setdefault(q, why)
    mult = {cls: structure_multiplier(cls, intent) for cls in set(d.classes.values())}

    first: dict[str, float] = {}
    direct = [(W.SIGNAL_WEIGHTS[k], h.scores) for k, h in anchors.items()]
    for p in lex.keys() | sym.keys() | paths.keys() | {p for _, s in direct for p in s}:
        first[p] = (
            W.SIGNAL_WEIGHTS["lexical"] * lex.get(p, 0.0)
            + W.SIGNAL_WEIGHTS["symbol"] * sym.get(p, 0.0)
            + W.SIGNAL_WEIGHTS["path"] * paths.get(p, (0.0, ""))[0]
            + sum(w * s.get(p, 0.0) for w, s in direct)
        ) * mult[d.classes[p]]
    top = sorted(first, key=lambda p: (-first[p], p))[: W.SEEDS]
    best = first[top[0]] if top else 0.0
    seeds = {p: first[p] / best for p in top} if best > 0 else {}

    linked = spread(graph, seeds)
    graph_n = normalised({p: v for p, (v, _) in linked.items() if p in text_files})
    co = cochange_scores(history, seeds)
    co_n = normalised({p: v[0] for p, v in co.items() if p in text_files})
    similar = similar_commit_scores(history, query, text_files)
    sim_n = normalised({p: v for p, (v, _) in similar.items()})
    churn_n = snapshot.churn

    signals: dict[str, Mapping[str, float]] = {
        "lexical": lex,
        "symbol": sym,
        "path": {p: v for p, (v, _) in paths.items()},
        "graph": graph_n,
        "cochange": co_n,
        "similar_commits": sim_n,
        "churn": churn_n,
        **{k: h.scores for k, h in anchors.items()},
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
        reasons, sources = _explain(
            p, feats, paths, matched, linked, co, similar, history, d.classes[p], lex, anchors
        )
        rec = text_files[p]
        if rec.kind == "large":
            reasons.append(f"{rec.size // 1024} KiB: too large to index its text; placed by path and history")
        ranked.append(Ranked(p, score, feats, reasons, sources, named.get(p, {})))
    return ranked, len(scored)


def _explain(
    path: str,
    feats: Mapping[str, float],
    paths: Mapping[str, tuple[float, str]],
    matched: Mapping[str, Mapping[str, str]],
    linked: Mapping[str, tuple[float, str]],
    co: Mapping[str, tuple[float, str, int, int]],
    similar: Mapping[str, tuple[float, str]],
    history: History,
    cls: FileClass,
    lex: Mapping[str, float],
    anchors: Mapping[Source, Hits],
) -> tuple[list[str], list[Source]]:
    reasons: list[str] = []
    sources: list[Source] = []
    for name, hits in anchors.items():
        if path in hits.why:
            reasons.append(hits.why[path])
            sources.append(name)
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
