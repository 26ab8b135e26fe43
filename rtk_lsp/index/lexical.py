"""An inverted index over three fields of every text file, updated file by file.

Fields: `path` (directory and file name words), `sym` (names and doc lines of the
definitions), `body` (every word of the text). Readers hold an immutable index;
an update copies only the posting lists of the terms it touches.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from rtk_lsp.model import FileRecord
from rtk_lsp.text import path_terms

FIELDS = ("path", "sym", "body")

# BM25 parameters: the usual k1; length normalisation weaker for short fields.
K1 = 1.2
B = {"path": 0.3, "sym": 0.5, "body": 0.75}


def field_terms(rec: FileRecord) -> dict[str, dict[str, int]]:
    return {"path": dict(Counter(path_terms(rec.rel_path))), "sym": rec.sym_terms, "body": rec.body_terms}


@dataclass(frozen=True)
class LexicalIndex:
    postings: Mapping[str, Mapping[str, Mapping[str, int]]]  # field -> term -> path -> tf
    lengths: Mapping[str, Mapping[str, int]]  # field -> path -> field length
    totals: Mapping[str, int]  # field -> sum of lengths

    @classmethod
    def build(cls, records: Iterable[FileRecord]) -> LexicalIndex:
        """A fresh index: what `updated` gives from an empty one, built without copies."""
        builder = LexicalBuilder()
        for rec in records:
            builder.add(rec)
        return builder.index()

    @property
    def doc_count(self) -> int:
        return len(self.lengths["path"])

    def updated(self, removed: Iterable[FileRecord], added: Iterable[FileRecord]) -> LexicalIndex:
        """A new index without `removed` and with `added` (pass a changed file in both).

        Only posting lists whose entry for a file actually changes are copied: an edit
        to one line of a big file touches a handful of terms, not all of its terms.
        """
        postings = {f: dict(self.postings[f]) for f in FIELDS}
        lengths = {f: dict(self.lengths[f]) for f in FIELDS}
        totals = dict(self.totals)
        copied: dict[str, set[str]] = {f: set() for f in FIELDS}

        def plist(field: str, term: str) -> dict[str, int]:
            p = postings[field].get(term)
            if term not in copied[field]:
                p = dict(p) if p is not None else {}
                postings[field][term] = p
                copied[field].add(term)
            assert isinstance(p, dict)
            return p

        before_terms = {
            r.rel_path: field_terms(r) for r in removed if r.is_text and r.rel_path in lengths["path"]
        }
        after_terms = {r.rel_path: field_terms(r) for r in added if r.is_text}
        empty: dict[str, dict[str, int]] = {f: {} for f in FIELDS}
        for path in before_terms.keys() | after_terms.keys():
            old, new = before_terms.get(path, empty), after_terms.get(path, empty)
            for field in FIELDS:
                old_counts, new_counts = old[field], new[field]
                for term in old_counts:
                    if term not in new_counts:
                        p = plist(field, term)
                        p.pop(path, None)
                        if not p:
                            del postings[field][term]
                            copied[field].discard(term)
                for term, tf in new_counts.items():
                    if old_counts.get(term) != tf:
                        plist(field, term)[path] = tf
                totals[field] -= lengths[field].pop(path, 0)
                if path in after_terms:
                    n = sum(new_counts.values())
                    lengths[field][path] = n
                    totals[field] += n
        return LexicalIndex(postings, lengths, totals)

    def bm25_of(self, field: str, terms: Mapping[str, float], path: str, counts: Mapping[str, int]) -> float:
        """BM25 of one file (whose term counts in `field` are `counts`), without scoring the others."""
        n = self.doc_count
        length = self.lengths[field].get(path)
        if not n or length is None:
            return 0.0
        avg = max(self.totals[field] / n, 1.0)
        norm = K1 * (1.0 - B[field] + B[field] * length / avg)
        plists = self.postings[field]
        score = 0.0
        for term, qw in terms.items():
            tf = counts.get(term, 0)
            if tf:
                score += _idf(n, len(plists.get(term, ()))) * qw * tf * (K1 + 1.0) / (tf + norm)
        return score

    def bm25_ceiling(self, field: str, terms: Mapping[str, float]) -> float:
        """The most a file could score for `terms`: every one of them, often, in a short file."""
        n = max(self.doc_count, 1)
        plists = self.postings[field]
        return sum(w * _idf(n, len(plists.get(t, ()))) for t, w in terms.items()) * (K1 + 1.0)

    def bm25(self, field: str, weighted_terms: Mapping[str, float]) -> dict[str, float]:
        """BM25 of every file matching any term in one field; terms carry query weights."""
        n = self.doc_count
        if not n:
            return {}
        avg = max(self.totals[field] / n, 1.0)
        return bm25(weighted_terms, self.postings[field], self.lengths[field], n, avg, B[field])


K = TypeVar("K")


def _idf(n: int, df: int) -> float:
    return math.log(1.0 + (n - df + 0.5) / (df + 0.5))


def bm25(
    weighted_terms: Mapping[str, float],
    postings: Mapping[str, Mapping[K, int]],
    lengths: Mapping[K, int],
    n: int,
    avg: float,
    b: float,
) -> dict[K, float]:
    """Okapi BM25 (k1 = K1) of the `n` documents matching any term, by document key.

    `postings` maps a term to {document: term frequency}, `lengths` a document to its
    length and `avg` is their mean; each term's score is scaled by its query weight.
    """
    scores: dict[K, float] = {}
    for term, qw in weighted_terms.items():
        plist = postings.get(term)
        if not plist:
            continue
        idf = _idf(n, len(plist)) * qw
        for key, tf in plist.items():
            norm = K1 * (1.0 - b + b * lengths[key] / avg)
            scores[key] = scores.get(key, 0.0) + idf * tf * (K1 + 1.0) / (tf + norm)
    return scores


class LexicalBuilder:
    """A fresh index built a record at a time: a cold build adds each file as its parser
    process returns it, while the others still parse."""

    def __init__(self) -> None:
        self.postings: dict[str, dict[str, dict[str, int]]] = {f: {} for f in FIELDS}
        self.lengths: dict[str, dict[str, int]] = {f: {} for f in FIELDS}
        self.totals = dict.fromkeys(FIELDS, 0)

    def add(self, rec: FileRecord) -> None:
        if not rec.is_text:
            return
        path = rec.rel_path
        for field, counts in field_terms(rec).items():
            plists = self.postings[field]
            for term, tf in counts.items():
                plist = plists.get(term)
                if plist is None:
                    plists[term] = {path: tf}
                else:
                    plist[path] = tf
            n = sum(counts.values())
            self.lengths[field][path] = n
            self.totals[field] += n

    def index(self) -> LexicalIndex:
        return LexicalIndex(self.postings, self.lengths, self.totals)
