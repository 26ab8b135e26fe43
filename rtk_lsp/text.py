"""Turning code and task text into terms.

One tokenizer serves the index and the task, so that a word in a task and the
same word in code (in any case convention) meet on the same term: `parseHTTPHeader`,
`parse_http_header` and "parse the HTTP headers" all give parse / http / header.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")
# camelCase / PascalCase / ACRONYMWords / digits boundaries
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


STOPWORDS = _words(
    """
    a an the is in at of on to do be we it as by or and for with not are was were this that has have had
    will can should would when what how why who which from into onto out up so if then than else also
    only just but all any some no yes its it's our your their there here these those them they he she
    you i me my been being more most very much such via per use used using make makes made get gets got
    set sets one two new now still again too let lets don't doesn't didn't isn't can't won't should've
    """
)

# Words that say what kind of change a task is, but not where: kept out of ranking terms.
TASK_VERBS = _words(
    """
    fix fixes fixed fixing add adds added adding remove removes removed removing update updates updated
    change changes changed changing improve improves improved allow allows allowed support supports
    supported handle handles handled implement implements implemented refactor refactored cleanup clean
    rename renamed move moved bump bumped revert reverted merge merged pull request issue issues bug
    bugs minor typo typos small some properly correctly correct wrong instead need needs needed ensure
    ensures make sure avoid avoids prevent prevents
    """
)


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """A light, predictable stemmer: plurals and the commonest verb endings only.

    Aggressive stemmers merge unrelated code words (`process`/`processor`); this one
    only folds the forms a task writer and a code author most often disagree on.
    """
    w = _ending_off(word)
    # a silent final e goes too, as "-ing" and "-ed" took it: `encode` and `encoding`, `cache` and
    # `caches`, `parse` and `parsing` meet on one term
    if len(w) > 3 and w[-1] == "e" and w[-2] != "e":
        return w[:-1]
    return w


def _ending_off(w: str) -> str:
    if len(w) <= 3:
        return w
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith("sses"):
        return w[:-2]
    if w.endswith("ing") and len(w) > 5:
        w = w[:-3]
        if len(w) > 2 and w[-1] == w[-2] and w[-1] not in "lsz":
            w = w[:-1]
        return w
    if w.endswith("ed") and len(w) > 4 and not w.endswith("eed"):
        w = w[:-2]
        if len(w) > 2 and w[-1] == w[-2] and w[-1] not in "lsz":
            w = w[:-1]
        return w
    if w.endswith(("xes", "zes", "ches", "shes")) and len(w) > 4:
        return w[:-2]
    if w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    return w


@lru_cache(maxsize=200_000)
def split_identifier(word: str) -> tuple[str, ...]:
    """`parseHTTPHeader2` -> ("parse", "http", "header", "2"); lowercased."""
    parts: list[str] = []
    for chunk in word.split("_"):
        if not chunk:
            continue
        if chunk.islower() or chunk.isupper() or chunk.isdigit():
            parts.append(chunk.lower())
        else:
            parts.extend(p.lower() for p in _CAMEL.findall(chunk))
    return tuple(parts)


def word_parts(word: str) -> tuple[str, ...]:
    """The sub-words of one identifier-like word that carry meaning, as written (lowercased):
    stopwords, numbers and 1-char parts out. What people are shown; `word_terms` stems them."""
    return tuple(
        part
        for part in split_identifier(word)
        if len(part) >= 2 and not part.isdigit() and part not in STOPWORDS
    )


@lru_cache(maxsize=200_000)
def word_terms(word: str) -> tuple[str, ...]:
    """Index terms of one identifier-like word: its stemmed sub-words (`word_parts`)."""
    return tuple(stem(part) for part in word_parts(word))


def terms(text: str) -> list[str]:
    """All index terms of a text, in order, with repeats."""
    out: list[str] = []
    for word in _WORD.findall(text):
        out.extend(word_terms(word))
    return out


# Every byte but an ASCII letter or digit, as a space: the words `_WORD` finds are then the runs
# that `bytes.split` gives, less their leading digits.
_ALNUM = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_ALNUM_ONLY = bytes(c if c in _ALNUM else 0x20 for c in range(256))


def term_counts(text: str) -> dict[str, int]:
    """How often each index term occurs in a text (in order of first occurrence)."""
    # Runs of letters and digits are cut out and counted in C (a third faster than `_WORD.findall`
    # on a whole file); only each distinct run is looked at here. A plain dict: `Counter` calls a
    # Python `__missing__` for every new term.
    counts: dict[str, int] = {}
    get = counts.get
    runs = Counter(text.encode("utf-8", "replace").translate(_ALNUM_ONLY).split())
    for run, n in runs.items():
        word = run.lstrip(b"0123456789")  # a word starts at a letter: `2to3` is `to3`
        if word:
            for t in word_terms(word.decode("ascii")):
                counts[t] = get(t, 0) + n
    return counts


def path_terms(rel_path: str) -> list[str]:
    """Terms of a path: directories, stem and extension-less name, split like identifiers."""
    stemless = rel_path.rsplit(".", 1)[0] if "." in rel_path.rsplit("/", 1)[-1] else rel_path
    return terms(stemless.replace("/", " ").replace("-", " ").replace(".", " "))


@lru_cache(maxsize=500_000)
def name_words(name: str) -> tuple[str, ...]:
    """Stemmed words of a definition's name, for matching task words (the same names recur in every plan)."""
    return tuple(stem(p) for p in split_identifier(name) if len(p) > 1)


@lru_cache(maxsize=200_000)
def doc_words(doc: str) -> frozenset[str]:
    """The terms of a doc line."""
    return frozenset(term_counts(doc))
