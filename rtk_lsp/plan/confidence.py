"""How sure a plan is that the workspace holds what the task is about, and a verdict in words.

Ranks are relative: some file always comes first, even for a task about another
project. Confidence is computed from absolute evidence instead:

- direct evidence: a traceback frame in a workspace file, a definition the task names
  exactly, a file it names, a string literal it quotes, a name its code calls;
- word evidence: a definition or file named like a word of the task (weak: words are
  ambiguous);
- lexical evidence: the share of the task's word weight (idf) that the best files
  hold, lowered by every word the workspace has never seen;
- history: the share the nearest past commit subject holds.

They combine as independent chances (noisy-or) into `confidence` in [0, 1]. Below
`FLOOR` the plan selects nothing; up to `FULL` it may spend only part of its budget
(`budget_share`): a doubtful plan is a short one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rtk_lsp.index.snapshot import History, LexicalIndex
from rtk_lsp.model import FileRecord
from rtk_lsp.plan.rank import Query, Ranked
from rtk_lsp.text import term_counts

FLOOR = 0.15  # below this a plan selects nothing
FULL = 0.6  # from this a plan may spend its whole budget; in between, a share growing from MIN_SHARE
MIN_SHARE = 0.05  # just above the floor: room for the best file or two
# lexical evidence: none while the best file scores below LEX_START of the most a file could score
# for the task's words (BM25), full at LEX_START + LEX_SPAN
LEX_START = 0.12
LEX_SPAN = 0.2
WORD_EVIDENCE = 0.3  # a definition or file named like a word of the task
USED_NAME = 0.6  # a name the task spells as code that the workspace uses without defining it
HISTORY_EVIDENCE = 0.3  # a past commit subject with the task's words
HISTORY_START = 0.1
HISTORY_SPAN = 0.3
TOP_FILES = 5  # files whose words count for lexical evidence


@dataclass(frozen=True)
class Confidence:
    value: float
    verdict: str
    budget_share: float  # share of the token budget the plan may spend
    evidence: Mapping[str, float]


def _clamp(x: float) -> float:
    return 0.0 if x < 0 else 1.0 if x > 1 else x


def _prose_terms(query: Query) -> dict[str, float]:
    return {t: w for t, w in query.terms.items() if w >= 1.0}


def _lexical(
    lexical: LexicalIndex, files: Mapping[str, FileRecord], query: Query, top: Sequence[str]
) -> tuple[float, int, int]:
    """How well the best file holds the task's words (BM25 over its text, as a share of the most a
    file could score), how many of the words this workspace never uses, and how many there are."""
    terms = _prose_terms(query)
    ceiling = lexical.bm25_ceiling("body", terms)
    if not ceiling:
        return 0.0, 0, 0
    best = 0.0
    for p in top:
        rec = files.get(p)
        if rec is not None:
            best = max(best, lexical.bm25_of("body", terms, p, rec.body_terms))
    body = lexical.postings["body"]
    return best / ceiling, sum(1 for t in terms if t not in body), len(terms)


def _history(history: History, query: Query) -> float:
    """Share of the task's idf weight (over commit subjects) in the nearest past commit subject."""
    terms = _prose_terms(query)
    if not history.commits or not terms:
        return 0.0
    index = history.subjects
    n = max(len(index.lengths), 1)
    df = {t: len(index.postings.get(t, ())) for t in terms}
    idf = {t: math.log(1.0 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}
    total = sum(idf.values())
    best = 0.0
    for i, _ in index.search(terms, 5):
        subject = term_counts(history.commits[i].subject)
        best = max(best, sum(w for t, w in idf.items() if t in subject) / total)
    return best


def assess(
    ranked: Sequence[Ranked],
    files: Mapping[str, FileRecord],
    lexical: LexicalIndex,
    history: History,
    defs: Mapping[str, frozenset[str]],
    refs: Mapping[str, Mapping[str, int]],
    query: Query,
) -> Confidence:
    top = [r.path for r in ranked[:TOP_FILES]]
    direct: dict[str, tuple[float, str]] = {}

    def note(kind: str, value: float, why: str) -> None:
        if value > direct.get(kind, (0.0, ""))[0]:
            direct[kind] = (value, why)

    for r in ranked:
        f = r.features
        for kind, words in (
            ("traceback", "the traceback runs through"),
            ("code", "the task's code uses"),
            ("literal", "a quoted message or option is in"),
        ):
            if f.get(kind, 0.0) > 0:
                note(kind, f[kind], f"{words} `{r.path}`")
        if f.get("path", 0.0) >= 1.0:
            note("path", 1.0, f"the task names `{r.path}`")
    for ident in query.identifiers:
        name = ident.rsplit(".", 1)[-1]
        if len(name) < 3 or name.startswith("__"):
            continue
        defining, using = defs.get(name), refs.get(name)
        if defining:
            note("name", 1.0 / math.sqrt(len(defining)), f"the task names `{ident}`, defined here")
        elif using:  # a name the code uses but does not define here: a setting, a key, another library's
            note("name", USED_NAME / math.sqrt(len(using)), f"the task names `{ident}`, used here")
    word = max(
        (max(r.features.get("symbol", 0.0), r.features.get("path", 0.0)) for r in ranked[:TOP_FILES]),
        default=0.0,
    )
    coverage, unknown, n_terms = _lexical(lexical, files, query, top)
    lex = _clamp((coverage - LEX_START) / LEX_SPAN)
    hist = _clamp((_history(history, query) - HISTORY_START) / HISTORY_SPAN)
    evidence = {k: round(v, 3) for k, (v, _) in direct.items()}
    evidence |= {
        "words": round(WORD_EVIDENCE * word, 3),
        "lexical": round(lex, 3),
        "history": round(HISTORY_EVIDENCE * hist, 3),
    }
    doubt = 1.0
    for v in evidence.values():
        doubt *= 1.0 - _clamp(v)
    value = round(1.0 - doubt, 3)
    share = 0.0 if value < FLOOR else min(1.0, max(MIN_SHARE, (value - FLOOR) / (FULL - FLOOR)))
    return Confidence(value, _verdict(value, share, direct, coverage, unknown, n_terms), share, evidence)


def _verdict(
    value: float,
    share: float,
    direct: Mapping[str, tuple[float, str]],
    coverage: float,
    unknown: int,
    n_terms: int,
) -> str:
    strongest = [why for _, why in sorted(direct.values(), key=lambda t: -t[0])][:2]
    if share == 0.0:
        unseen = f"{unknown} of its {n_terms} words never occur here, " if unknown else ""
        return (
            f"nothing in this workspace matches the task: {unseen}no file holds its words together "
            f"(best {coverage:.0%}), and it names no file, definition or traceback frame here"
        )
    head = "; ".join(strongest) or f"only the task's words match (best file {coverage:.0%})"
    if share < 1.0:
        return f"unsure: {head}; the plan spends at most {share:.0%} of its budget"
    return f"matched: {head}"
