"""The commits of HEAD in memory, and the signals derived from them: churn, co-change, subjects.

`index/history.py` reads them from git (and `History.to_wire` stores them); this module is
the in-memory side that a snapshot holds and the plan reads: no git, no files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from rtk_lsp.index.lexical import bm25
from rtk_lsp.text import term_counts

__all__ = ["COCHANGE_MAX_FILES", "HALF_LIFE_COMMITS", "WIRE_VERSION", "Commit", "History", "SubjectIndex"]

# A commit's weight halves every 100 newer commits: the last few hundred commits
# dominate the signal (what is being worked on now), while the files changed
# thousands of commits ago still rank above files that never changed.
HALF_LIFE_COMMITS = 100

# Wider commits are reformatting, renames of whole trees, vendoring or license-header
# sweeps: they say nothing about which files belong together, and the pairs grow
# quadratically (a 1000-file commit alone would add a million entries).
COCHANGE_MAX_FILES = 50

# BM25 length normalisation of commit subjects (short texts, as a file's body).
SUBJECT_B = 0.75

# Bump when the tuple layout of `History.to_wire` changes: stored histories of an
# older layout are then rejected by `from_wire` instead of being misread.
WIRE_VERSION = 1


@dataclass(frozen=True, slots=True)
class Commit:
    """One non-merge commit of HEAD that touches the workspace.

    `files` are the paths the commit touched as they were named in that commit
    (a rename contributes its new name), relative to the workspace root, sorted.
    `renames` (old, new) and `added` are kept so that derived tables can follow a
    file across renames without asking git again on an incremental update.
    """

    sha: str
    time: int
    files: tuple[str, ...]
    subject: str
    renames: tuple[tuple[str, str], ...] = ()
    added: tuple[str, ...] = ()

    def to_tuple(self) -> tuple[Any, ...]:
        return (self.sha, self.time, self.files, self.subject, self.renames, self.added)

    @classmethod
    def from_tuple(cls, t: Any) -> Commit:
        sha, time, files, subject, renames, added = t
        return cls(
            str(sha),
            int(time),
            tuple(files),
            str(subject),
            tuple((str(a), str(b)) for a, b in renames),
            tuple(added),
        )


@dataclass(frozen=True)
class History:
    """The newest commits of HEAD and the signals derived from them.

    `complete` is true when `commits` holds every qualifying commit of `head` (the
    history was shorter than the window); it decides whether a later, larger `depth`
    can still be served incrementally. Derived tables use each file's newest name
    (renames followed) and are read-only by convention.
    """

    head: str | None
    commits: tuple[Commit, ...]
    note: str = ""
    complete: bool = False
    churn: dict[str, float] = field(init=False, repr=False, compare=False)
    counts: dict[str, int] = field(init=False, repr=False, compare=False)
    last_rank: dict[str, int] = field(init=False, repr=False, compare=False)
    cochange: dict[str, dict[str, int]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        churn, counts, last_rank, cochange = _derive(self.commits)
        object.__setattr__(self, "churn", churn)
        object.__setattr__(self, "counts", counts)
        object.__setattr__(self, "last_rank", last_rank)
        object.__setattr__(self, "cochange", cochange)

    def to_wire(self) -> tuple[Any, ...]:
        return (WIRE_VERSION, self.head, self.note, self.complete, tuple(c.to_tuple() for c in self.commits))

    @classmethod
    def from_wire(cls, w: Any) -> History:
        version, head, note, complete, commits = w
        if version != WIRE_VERSION:
            raise ValueError(f"history wire format {version!r}, expected {WIRE_VERSION}")
        return cls(
            None if head is None else str(head),
            tuple(Commit.from_tuple(c) for c in commits),
            str(note),
            bool(complete),
        )

    @classmethod
    def empty(cls, note: str) -> History:
        return cls(None, (), note)

    @cached_property
    def subjects(self) -> SubjectIndex:
        """BM25 over the commit subjects, made on first use and shared by every snapshot with this history."""
        return SubjectIndex(self.commits)


def _derive(
    commits: tuple[Commit, ...],
) -> tuple[dict[str, float], dict[str, int], dict[str, int], dict[str, dict[str, int]]]:
    churn: dict[str, float] = {}
    counts: dict[str, int] = {}
    last_rank: dict[str, int] = {}
    cochange: dict[str, dict[str, int]] = {}
    # Older name -> newest name. Walking newest first, a rename only redirects the
    # commits older than itself, so a file later re-created under the old name keeps
    # its own history.
    alias: dict[str, str] = {}
    for rank, c in enumerate(commits):
        paths = {alias.get(p, p) for p in c.files} if alias else set(c.files)
        if c.renames or c.added:
            targets = [(old, alias.get(new, new)) for old, new in c.renames]
            # Before this commit these names belonged to other files (or none).
            for p in c.added:
                alias.pop(p, None)
            for _, new in c.renames:
                alias.pop(new, None)
            for old, target in targets:
                if old != target:
                    alias[old] = target
        weight = 0.5 ** (rank / HALF_LIFE_COMMITS)
        for p in paths:
            churn[p] = churn.get(p, 0.0) + weight
            counts[p] = counts.get(p, 0) + 1
            last_rank.setdefault(p, rank)
        if 1 < len(c.files) <= COCHANGE_MAX_FILES:
            for a in paths:
                row = cochange.setdefault(a, {})
                for b in paths:
                    if b != a:
                        row[b] = row.get(b, 0) + 1
    return churn, counts, last_rank, cochange


class SubjectIndex:
    """BM25 over the subjects of commits: which past commits are worded like a task."""

    def __init__(self, commits: tuple[Commit, ...]) -> None:
        self.postings: dict[str, dict[int, int]] = {}  # term -> {commit index: count}
        self.lengths: dict[int, int] = {}
        for i, c in enumerate(commits):
            counts = term_counts(c.subject)
            self.lengths[i] = sum(counts.values())
            for t, n in counts.items():
                self.postings.setdefault(t, {})[i] = n
        self.avg = max(sum(self.lengths.values()) / max(len(self.lengths), 1), 1.0)

    def search(self, terms: Mapping[str, float], limit: int) -> list[tuple[int, float]]:
        """The best `limit` commits as (index into the commits, score), best first."""
        scores = bm25(terms, self.postings, self.lengths, len(self.lengths), self.avg, SUBJECT_B)
        return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
