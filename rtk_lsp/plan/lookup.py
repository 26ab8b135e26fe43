"""Point look-ups on a snapshot, for agents that follow a plan: `expand` and `find_symbol`.

A plan names files, symbols and line ranges; these open exactly those (within a token
budget) or say where a name is defined and used, without the agent reading whole files.
Pure like the pipeline: a snapshot, the arguments and a source reader in, a JSON object
out. A bad argument raises `LookupFailed` with a message written for the caller to act on.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from rtk_lsp.index.snapshot import Snapshot
from rtk_lsp.model import FileRecord, Symbol
from rtk_lsp.paths import inside, relative
from rtk_lsp.plan.budget import ReadSource
from rtk_lsp.tokens import estimate_tokens

DEFAULT_EXPAND_BUDGET = 2000
MAX_REFERENCE_FILES = 50
MAX_SUGGESTIONS = 8


class LookupFailed(ValueError):
    """The arguments name nothing the index has; the message says what does exist."""


def rel_path_in(snapshot: Snapshot, path: str) -> str:
    """The indexed file a path names: root-relative, or absolute inside the root."""
    if not isinstance(path, str) or not path.strip():
        raise LookupFailed("path: must be a non-empty file path")
    given = path.strip()
    if os.path.isabs(given):
        real = os.path.realpath(given)
        if real == snapshot.root or not inside(real, snapshot.root):
            raise LookupFailed(f"path: {given} is not inside the workspace {snapshot.root}")
        rel = relative(real, snapshot.root)
    else:
        rel = os.path.normpath(given).replace(os.sep, "/")
    rel = rel.removeprefix("./")
    if rel in snapshot.files:
        return rel
    hints = _close(rel, snapshot.files, key=lambda p: p)
    if not hints:  # a bare file name: suggest the files that have it
        base = rel.rsplit("/", 1)[-1]
        hints = sorted(p for p in snapshot.files if p.rsplit("/", 1)[-1] == base)[:MAX_SUGGESTIONS]
    raise LookupFailed(
        f"path: {given} is not an indexed file of {snapshot.root}"
        + (f"; did you mean {', '.join(hints)}?" if hints else "")
    )


def expand(
    snapshot: Snapshot,
    read: ReadSource,
    path: str,
    symbols: Sequence[str] = (),
    start_line: int | None = None,
    end_line: int | None = None,
    budget: int = DEFAULT_EXPAND_BUDGET,
) -> dict[str, Any]:
    """The source of some symbols, or of a line range, of one file, cut to fit `budget` tokens."""
    rel = rel_path_in(snapshot, path)
    rec = snapshot.files[rel]
    wanted = [s.strip() for s in symbols if isinstance(s, str) and s.strip()]
    if not wanted and start_line is None and end_line is None:
        raise LookupFailed(
            f"give symbols or a line range (start_line, end_line) of {rel}; it defines: {_outline(rec)}"
        )
    text = read(rel) if rec.is_text else None
    if text is None:
        raise LookupFailed(f"path: {rel} has no readable text ({rec.kind} file)")
    lines = text.splitlines()
    spans: list[tuple[str, str, int, int]] = []  # (name, kind, start, end), 1-based inclusive
    for name in wanted:
        found = _symbols_named(rec, name)
        if not found:
            hint = _close(name, [s.qualified for s in rec.facts.symbols], key=lambda q: q)
            raise LookupFailed(
                f"symbols: {rel} defines no {name!r}"
                + (f"; did you mean {', '.join(hint)}?" if hint else f"; it defines: {_outline(rec)}")
            )
        spans.extend((s.qualified, s.kind, s.start_line, s.end_line) for s in found)
    if start_line is not None or end_line is not None:
        first = 1 if start_line is None else start_line
        last = len(lines) if end_line is None else end_line
        if first > len(lines):
            raise LookupFailed(f"start_line: {rel} has only {len(lines)} lines, got {first}")
        if first < 1 or last < first:
            raise LookupFailed(f"start_line/end_line: need 1 <= start_line <= end_line, got {first}..{last}")
        spans.append(("", "lines", first, min(last, len(lines))))

    blocks: list[dict[str, Any]] = []
    used = 0
    truncated = False
    for name, kind, first, last in spans:
        title = f"{rel} L{first}-{last}" + (f" {kind} {name}" if name else "")
        body = lines[first - 1 : last]
        shown = _fit_lines(title, body, budget - used)
        if shown is None:
            truncated = True
            break
        cost = estimate_tokens(_render(title, body[:shown], len(body) - shown))
        used += cost
        blocks.append(
            {
                "name": name,
                "kind": kind,
                "start_line": first,
                "end_line": first + shown - 1 if shown else first - 1,
                "text": "\n".join(body[:shown]),
                "truncated": shown < len(body),
            }
        )
        if shown < len(body):
            truncated = True
            break
    return {
        "root": snapshot.root,
        "path": rel,
        "language": rec.language,
        "lines": rec.lines,
        "budget": budget,
        "estimated_tokens": used,
        "truncated": truncated,
        "blocks": blocks,
    }


def render_expansion(result: dict[str, Any]) -> str:
    """The Markdown an agent reads: one fenced block per symbol or range."""
    if not result["blocks"]:
        return f"(nothing fits in {result['budget']} tokens: ask again with a larger budget)\n"
    out = []
    for b in result["blocks"]:
        title = f"{result['path']} L{b['start_line']}-{b['end_line']}"
        if b["name"]:
            title += f" {b['kind']} {b['name']}"
        out.append(_render(title, b["text"].split("\n") if b["text"] else [], 0, cut=b["truncated"]))
    if result["truncated"]:
        out.append(
            f"(cut to fit {result['budget']} tokens: ask again with a larger budget or a smaller range)\n"
        )
    return "".join(out)


def _render(title: str, body: list[str], more: int, cut: bool = False) -> str:
    tail = f"\n... ({more} more lines)" if more else ("\n... (cut)" if cut else "")
    return f"### {title}\n```\n" + "\n".join(body) + tail + "\n```\n"


def _fit_lines(title: str, body: list[str], left: int) -> int | None:
    """How many lines of `body` fit in `left` tokens with their heading, or None if not even one."""
    if estimate_tokens(_render(title, body, 0)) <= left:
        return len(body)
    lo, hi = 0, len(body)  # invariant: lo lines fit (lo=0 checked below), hi do not
    if estimate_tokens(_render(title, [], len(body))) > left:
        return None
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if estimate_tokens(_render(title, body[:mid], len(body) - mid)) <= left:
            lo = mid
        else:
            hi = mid
    return lo if lo else None


def _symbols_named(rec: FileRecord, name: str) -> list[Symbol]:
    exact = [s for s in rec.facts.symbols if s.qualified == name]
    if exact or "." in name:
        return exact
    return [s for s in rec.facts.symbols if s.name == name]


def _outline(rec: FileRecord) -> str:
    names = [s.qualified for s in rec.facts.symbols]
    if not names:
        return "no symbols (ask for a line range)"
    shown = ", ".join(names[:20])
    return shown + (f" and {len(names) - 20} more" if len(names) > 20 else "")


def _close(word: str, candidates: Iterable[Any], key: Callable[[Any], str]) -> list[str]:
    names = sorted({key(c) for c in candidates})
    return difflib.get_close_matches(word, names, n=MAX_SUGGESTIONS, cutoff=0.6)


def find_symbol(snapshot: Snapshot, name: str, limit: int = MAX_REFERENCE_FILES) -> dict[str, Any]:
    """Where `name` (or `Class.method`) is defined, and which files reference it, from the index."""
    if not isinstance(name, str) or not name.strip():
        raise LookupFailed("name: must be a non-empty identifier")
    wanted = name.strip()
    short = wanted.rsplit(".", 1)[-1]
    definitions = []
    for rel in sorted(snapshot.graph.defs.get(short, ())):
        rec = snapshot.files.get(rel)
        if rec is None:
            continue
        for s in rec.facts.symbols:
            if s.name == short and (s.qualified == wanted or "." not in wanted):
                definitions.append(
                    {
                        "path": rel,
                        "name": s.qualified,
                        "kind": s.kind,
                        "start_line": s.start_line,
                        "end_line": s.end_line,
                        "signature": s.signature,
                    }
                )
    by_file = snapshot.graph.refs.get(short, {})
    ordered = sorted(by_file.items(), key=lambda kv: (-kv[1], kv[0]))
    references = [
        {
            "path": rel,
            "count": count,
            "lines": list(snapshot.files[rel].facts.ref_lines.get(short, ()))
            if rel in snapshot.files
            else [],
        }
        for rel, count in ordered[:limit]
    ]
    suggestions: list[str] = []
    if not definitions and not references:
        lowered = short.lower()
        names = snapshot.graph.defs.keys()
        suggestions = sorted(n for n in names if n.lower() == lowered and n != short)[:MAX_SUGGESTIONS]
        suggestions += [
            n
            for n in difflib.get_close_matches(short, list(names), n=MAX_SUGGESTIONS)
            if n not in suggestions
        ]
    return {
        "root": snapshot.root,
        "name": wanted,
        "definitions": definitions,
        "references": references,
        "reference_files": len(by_file),
        "suggestions": suggestions[:MAX_SUGGESTIONS],
    }


def render_symbol(result: dict[str, Any]) -> str:
    name = result["name"]
    if not result["definitions"] and not result["references"]:
        hint = result["suggestions"]
        return f"`{name}` is neither defined nor referenced in {result['root']}" + (
            f"; similar names: {', '.join(hint)}\n" if hint else "\n"
        )
    out = [f"## `{name}`\n"]
    if result["definitions"]:
        out.append("defined in:\n")
        out.extend(
            f"- {d['path']} L{d['start_line']}-{d['end_line']} {d['kind']} `{d['name']}`: `{d['signature']}`\n"
            for d in result["definitions"]
        )
    else:
        out.append("no definition in the workspace (external or dynamic)\n")
    if result["references"]:
        shown, total = len(result["references"]), result["reference_files"]
        out.append(
            f"referenced in {total} file{'s' if total != 1 else ''}"
            + (":\n" if shown == total else f" (top {shown}):\n")
        )
        for r in result["references"]:
            lines = ", ".join(f"L{n}" for n in r["lines"])
            out.append(f"- {r['path']} ({r['count']}x{': ' + lines if lines else ''})\n")
    return "".join(out)
