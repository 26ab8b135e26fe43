"""Fitting ranked files into a token budget, at one of three levels of detail.

What is counted is what is emitted: each selected file's block of the Markdown
`context` (for `paths`, the whole file an agent will then read). The header is
paid first, files follow in rank order, a file that does not fit is shrunk
(fewer symbols, shorter code) or dropped, and the total never exceeds the budget.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from rtk_lsp.model import FileRecord, Symbol
from rtk_lsp.plan import weights as W
from rtk_lsp.plan.rank import Query, Ranked
from rtk_lsp.plan.result import Detail, DroppedFile, PlanSymbol, SelectedFile
from rtk_lsp.text import doc_words, name_words
from rtk_lsp.tokens import estimate_tokens

MAX_SYMBOLS = 6  # per file: more is an outline, not a pointer
MAX_CONTENT_LINES = 80  # per symbol in `content` detail
MIN_USEFUL_TOKENS = 24  # a remaining budget below this cannot hold another file

ReadSource = Callable[[str], "str | None"]

_ESCAPES = {"\a": "a", "\b": "b", "\t": "t", "\n": "n", "\v": "v", "\f": "f", "\r": "r"}


def _escape(text: str, quoting: bool) -> str:
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append("\\" + _ESCAPES[ch])
        elif quoting and ch in '"\\':
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        else:  # other control characters, and bytes of a file name that are not UTF-8
            try:
                out.extend(f"\\{b:03o}" for b in ch.encode("utf-8", "surrogateescape"))
            except UnicodeEncodeError:
                out.append(f"\\u{ord(ch):04x}")
    return "".join(out)


def shown_path(path: str) -> str:
    """A path as plans show it: as is when printable, else quoted as git quotes it
    (`"new\\nline.py"`, `"bad\\377name.py"`), so that it stays one valid UTF-8 line."""
    if path.isprintable() and not path.startswith('"'):
        return path
    return '"' + _escape(path, quoting=True) + '"'


def printable(text: str) -> str:
    """`text` on one line of valid UTF-8 (a reason may name a path with a newline in it)."""
    return text if text.isprintable() else _escape(text, quoting=False)


@dataclass(frozen=True)
class Picked:
    symbol: Symbol
    why: str


def relevant_symbols(
    rec: FileRecord, ranked: Ranked, query: Query, seed_refs: Mapping[str, int], matched_names: set[str]
) -> list[Picked]:
    """The definitions of a file worth pointing at, best first."""
    scored: list[tuple[float, int, Picked]] = []
    terms = query.terms
    matched = ranked.matched
    ref_lines = rec.facts.ref_lines
    call_lines = sorted({ln for name in matched_names for ln in ref_lines.get(name, ())})
    for i, sym in enumerate(rec.facts.symbols):
        s = 0.0
        why = ""
        if matched and (sym.name in matched or sym.qualified in matched):
            s += 3.0
            why = "named in the task"
        overlap = sum(1 for w in name_words(sym.name) if w in terms)
        if overlap:
            s += overlap
            why = why or "name matches task words"
        if sym.doc:
            doc_overlap = sum(1 for w in doc_words(sym.doc) if w in terms)
            if doc_overlap:
                s += 0.5 * doc_overlap
                why = why or "doc matches task words"
        if sym.name in seed_refs and sym.name not in matched_names:
            s += 1.5
            why = why or "used by the best-matching files"
        if (
            call_lines
            and sym.kind in ("function", "method")
            and _any_between(call_lines, sym.start_line, sym.end_line)
        ):
            s += 1.5
            why = why or "calls what the task names"
        if s > 0:
            scored.append((s, i, Picked(sym, why)))
    scored.sort(key=lambda t: (-t[0], t[1]))
    picked = [p for _, _, p in scored[:MAX_SYMBOLS]]
    if not picked:
        # nothing specific: the top-level outline tells an agent what the file holds
        outline = [s for s in rec.facts.symbols if not s.parent][:3]
        picked = [Picked(s, "outline") for s in outline]
    return sorted(picked, key=lambda p: p.symbol.start_line)


def _any_between(ordered: list[int], low: int, high: int) -> bool:
    i = bisect_left(ordered, low)
    return i < len(ordered) and ordered[i] <= high


def _symbol_line(sym: Symbol) -> str:
    return f"- L{sym.start_line}-{sym.end_line} {sym.kind} `{sym.qualified}`: `{sym.signature}`"


def _code(text: str, sym: Symbol, max_lines: int) -> str:
    lines = text.splitlines()[sym.start_line - 1 : sym.end_line]
    shown = lines[:max_lines]
    if len(lines) > max_lines:
        shown.append(f"... ({len(lines) - max_lines} more lines)")
    return "```\n" + "\n".join(shown) + "\n```"


def render_block(
    rec: FileRecord,
    ranked: Ranked,
    symbols: list[Picked],
    detail: str,
    source: str | None,
    max_lines: int = MAX_CONTENT_LINES,
) -> str:
    head = f"## {shown_path(rec.rel_path)} (score {ranked.score:.3f}, {rec.lines} lines)\n"
    if detail == "paths":
        return head
    out = [head]
    if ranked.reasons:
        out.append("why: " + "; ".join(printable(r) for r in ranked.reasons) + "\n")
    for p in symbols:
        out.append(_symbol_line(p.symbol) + "\n")
        if detail == "content" and source is not None:
            out.append(_code(source, p.symbol, max_lines) + "\n")
    return "".join(out)


def header(task: str, budget: int, verdict: str = "") -> str:
    first = task.strip().splitlines()[0][:200] if task.strip() else ""
    said = f"confidence: {verdict}\n" if verdict else ""
    return f"# Context plan\ntask: {first}\nbudget: {budget} tokens\n{said}\n"


@dataclass
class Assembly:
    selected: list[SelectedFile]
    dropped: list[DroppedFile]
    context: str
    used: int


def assemble(
    ranked: list[Ranked],
    files: Mapping[str, FileRecord],
    query: Query,
    seed_refs: Mapping[str, int],
    matched_names: set[str],
    budget: int,
    detail: Detail,
    task: str,
    read_source: ReadSource | None,
    verdict: str = "",
) -> Assembly:
    head = header(task, budget, verdict)
    used = estimate_tokens(head)
    if used > budget:  # not even the header fits: emit nothing rather than overrun
        head, used = "", 0
    blocks = [head]
    selected: list[SelectedFile] = []
    dropped: list[DroppedFile] = []
    floor = ranked[0].score * W.RELATIVE_CUTOFF if ranked else 0.0
    for r in ranked:
        rec = files[r.path]
        left = budget - used
        if r.score < floor:
            dropped.append(DroppedFile(shown_path(r.path), r.score, "below relevance cutoff"))
            continue
        if left < MIN_USEFUL_TOKENS:
            dropped.append(DroppedFile(shown_path(r.path), r.score, "budget exhausted"))
            continue
        symbols: list[Picked] = []
        bare = estimate_tokens(render_block(rec, r, [], "symbols", None)) if detail != "paths" else 0
        if bare > left:  # not even the file's header fits: no need to pick its symbols
            block, cost = None, bare
        else:
            symbols = relevant_symbols(rec, r, query, seed_refs, matched_names) if detail != "paths" else []
            source = read_source(r.path) if detail == "content" and read_source is not None else None
            block, cost = _fit(rec, r, symbols, detail, source, left)
        if block is None:
            dropped.append(
                DroppedFile(shown_path(r.path), r.score, f"over budget (needs {cost}, {left} left)")
            )
            continue
        used += cost
        blocks.append(block)
        selected.append(
            SelectedFile(
                rel_path=shown_path(r.path),
                score=r.score,
                estimated_tokens=cost,
                features=r.features,
                sources=tuple(r.sources),
                reasons=tuple(printable(reason) for reason in r.reasons),
                symbols=tuple(
                    PlanSymbol(
                        name=p.symbol.qualified,
                        kind=p.symbol.kind,
                        start_line=p.symbol.start_line,
                        end_line=p.symbol.end_line,
                        signature=p.symbol.signature,
                        why=p.why,
                    )
                    for p in _kept_symbols(block, symbols)
                ),
                content=block if detail == "content" else None,
            )
        )
    return Assembly(selected, dropped, "".join(blocks), used)


def _kept_symbols(block: str, symbols: list[Picked]) -> list[Picked]:
    return [p for p in symbols if _symbol_line(p.symbol) in block]


def _fit(
    rec: FileRecord, r: Ranked, symbols: list[Picked], detail: str, source: str | None, left: int
) -> tuple[str | None, int]:
    """The largest rendering of a file that fits in `left` tokens, and its cost (or the smallest cost)."""
    if detail == "paths":
        block = render_block(rec, r, [], detail, None)
        # the agent will read the whole file: that is the cost to budget
        cost = max(rec.tokens, estimate_tokens(block))
        return (block, cost) if cost <= left else (None, cost)
    attempts: list[tuple[list[Picked], int]] = [(symbols, MAX_CONTENT_LINES)]
    if detail == "content":
        attempts += [(symbols, 30), (symbols[:2], 15), (symbols[:1], 8)]
    attempts += [(symbols[:3], 0), (symbols[:1], 0), ([], 0)]
    smallest = 0
    for syms, lines in attempts:
        d = detail if lines else "symbols"
        block = render_block(rec, r, syms, d, source, lines or MAX_CONTENT_LINES)
        cost = estimate_tokens(block)
        smallest = cost
        if cost <= left:
            return block, cost
    return None, smallest
