"""Turning one file into a FileRecord: read, classify, hash, parse, count terms.

`analyze_batch` is what worker processes run on a cold start; it takes and returns
plain tuples so that nothing heavier than builtins crosses the process boundary, and
what it returns is what the content store keeps.
"""

from __future__ import annotations

import atexit
import ctypes
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

from rtk_lsp.index.languages import MANIFEST_NAMES, detect_language, has_facts
from rtk_lsp.index.scan import FileContent, ScannedFile, classify, read_file
from rtk_lsp.model import DATA_KINDS, EMPTY_FACTS, FileFacts, FileRecord
from rtk_lsp.text import term_counts, word_terms
from rtk_lsp.tokens import estimate_bytes, estimate_tokens

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1  # prctl option, <linux/prctl.h>


def _facts(rel_path: str, language: str, text: str) -> FileFacts:
    if not has_facts(rel_path, language):
        return EMPTY_FACTS
    # imported here: tree-sitter is heavy for the CLI's fast paths
    from rtk_lsp.index.parse.extract import extract

    try:
        return extract(rel_path, language, text.encode("utf-8", errors="replace"))
    except Exception:  # a parser bug degrades one file, never the index
        log.exception("parsing %s failed", rel_path)
        return EMPTY_FACTS


def symbol_terms(facts: FileFacts) -> dict[str, int]:
    """The `sym` field of the lexical index: words of definition names and their doc lines.

    Data (properties) is left out: see `DATA_KINDS`.
    """
    counts: dict[str, int] = {}
    get = counts.get
    for s in facts.symbols:
        if s.kind in DATA_KINDS:
            continue
        for t in word_terms(s.name):
            counts[t] = get(t, 0) + 1
        if s.doc:
            for t, n in term_counts(s.doc).items():
                counts[t] = get(t, 0) + n
    return counts


def record_from_content(sf: ScannedFile, content: FileContent) -> FileRecord:
    language = detect_language(sf.rel_path)
    text = content.text
    facts = EMPTY_FACTS
    body: dict[str, int] = {}
    if text is None:  # metadata only
        lines, tokens = 0, estimate_bytes(sf.size)
    else:
        lines = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
        tokens = estimate_tokens(text)
        facts = _facts(sf.rel_path, language, text)
        body = term_counts(text)
    return _record(sf, content, language, lines, tokens, facts, body, symbol_terms(facts))


def _record(
    sf: ScannedFile,
    content: FileContent,
    language: str,
    lines: int,
    tokens: int,
    facts: FileFacts,
    body: dict[str, int],
    sym: dict[str, int],
) -> FileRecord:
    return FileRecord(
        sf.rel_path,
        language,
        sf.size,
        sf.mtime_ns,
        content.hash,
        content.kind,
        lines,
        tokens,
        facts,
        body,
        sym,
    )


def content_key(rel_path: str, kind: str, digest: str) -> str | None:
    """What a file's record (but its path and stat) depends on: its bytes, its language, how it
    was classified and, for build manifests, its name. None when it cannot be shared (unread)."""
    if kind == "unreadable" or not digest:
        return None
    name = rel_path.rpartition("/")[2]
    return f"{digest}:{detect_language(rel_path)}:{kind}:{name if name in MANIFEST_NAMES else ''}"


def content_row(rec: FileRecord) -> tuple[Any, ...]:
    """The part of a record any path with the same content key shares."""
    return (rec.lines, rec.tokens, rec.facts.to_wire(), rec.body_terms, rec.sym_terms)


def record_from_row(sf: ScannedFile, content: FileContent, row: Any) -> FileRecord:
    lines, tokens, facts, body, sym = row
    return _record(
        sf, content, detect_language(sf.rel_path), lines, tokens, FileFacts.from_wire(facts), body, sym
    )


def analyze(
    root: str, sf: ScannedFile, max_size: int, prev_hash: str | None = None, overlay: str | None = None
) -> FileRecord | None:
    """The record of one file, or None when its content hash equals `prev_hash` (nothing to re-parse)."""
    if overlay is not None:
        data = overlay.encode("utf-8", errors="replace")
        content = classify(sf.rel_path, data, max_size)
        sf = ScannedFile(sf.rel_path, len(data), sf.mtime_ns)
    else:
        content = read_file(root, sf.rel_path, max_size)
    if prev_hash is not None and content.hash == prev_hash:
        return None
    return record_from_content(sf, content)


def analyze_batch(args: tuple[str, int, Sequence[tuple[str, int, int]]]) -> list[tuple[str, str, Any]]:
    """Worker-process entry: for each (rel_path, size, mtime_ns) of a batch, in order, the
    (kind, hash, `content_row`) of the file as read here."""
    root, max_size, items = args
    out = []
    for rel_path, size, mtime_ns in items:
        c = read_file(root, rel_path, max_size)
        out.append(
            (c.kind, c.hash, content_row(record_from_content(ScannedFile(rel_path, size, mtime_ns), c)))
        )
    return out


def worker_init(parent: int) -> None:
    """Worker-process initializer: keep stdout (a language server's protocol channel) clean,
    never outlive the process that started the worker, even when it is killed -9, and end
    without tearing the interpreter down."""
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    die_with(parent)
    atexit.register(_end_now)


def _end_now() -> None:
    """Leave at the first exit handler: a parser process has nothing to clean up, and freeing
    its caches and grammars object by object took 0.2 s, which the refresh waits for."""
    logging.shutdown()
    sys.stderr.flush()
    os._exit(0)


def die_with(parent: int) -> None:
    """End this process when `parent` ends: the kernel's parent-death signal where there is one,
    else a thread that watches for the parent to be gone."""
    armed = False
    if sys.platform.startswith("linux"):
        try:
            armed = ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
        except (OSError, AttributeError):
            armed = False
    if os.getppid() != parent:  # it died before the signal was armed
        os._exit(1)
    if not armed:
        threading.Thread(target=_watch_parent, args=(parent,), name="rtk-parent-watch", daemon=True).start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)
