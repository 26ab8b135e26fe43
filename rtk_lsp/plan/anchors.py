"""Direct evidence from the parts of a task: traceback frames, code names, messages and options.

Each function maps one part of `TaskParts` onto the workspace and returns, per file,
a strength in [0, 1] with the words that explain it, and the symbols it points at
(which the budget then lists first). They read only the snapshot's lookups.
"""

from __future__ import annotations

import heapq
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from rtk_lsp.index.snapshot import literal_words as snapshot_literal_words
from rtk_lsp.model import FileFacts, FileRecord, Symbol
from rtk_lsp.plan import weights as W
from rtk_lsp.plan.task import CodeName, Frame, TaskParts


@dataclass
class Hits:
    """One signal's evidence: strength per file, why, and the symbols it names per file."""

    scores: dict[str, float] = field(default_factory=dict)
    why: dict[str, str] = field(default_factory=dict)
    symbols: dict[str, dict[str, str]] = field(default_factory=dict)  # path -> qualified name -> why
    # Whether the pieces of evidence are independent (each quoted message, printed line or
    # option is a clue of its own) or views of one thing (the frames of one call chain).
    independent: bool = False

    def add(self, path: str, strength: float, why: str) -> None:
        old = self.scores.get(path, 0.0)
        if strength > old:
            self.why[path] = why
        if self.independent:
            # several weak clues that agree on a file beat one strong clue elsewhere
            self.scores[path] = 1.0 - (1.0 - old) * (1.0 - min(strength, 1.0))
        else:  # a second view of the same evidence adds a little, never past 1
            self.scores[path] = min(1.0, max(old, strength) + W.EXTRA_HIT * min(old, strength))

    def name(self, path: str, sym: Symbol, why: str) -> None:
        self.symbols.setdefault(path, {}).setdefault(sym.qualified, why)


# ---- paths ------------------------------------------------------------------------------------------

_SKIP_PARTS = frozenset({"", ".", "..", "~"})


def map_path(by_stem: Mapping[str, list[str]], path: str, bare: bool = False) -> list[str]:
    """Workspace files that a path from elsewhere (an installed copy, another checkout) denotes.

    The longest common suffix of path components wins; it must span two components
    (`_stats/regression.py`), or the whole of a short path (`src/x.rs`), or, when `bare`
    (a file the task's prose points at), a file name that only one file has. A name
    that many files share and nothing else tells apart maps to none of them.
    """
    parts = [p for p in path.split("/") if p not in _SKIP_PARTS]
    if not parts:
        return []
    base = parts[-1].lower()
    stem = base.split(".", 1)[0]
    low = [p.lower() for p in parts]
    best: list[str] = []
    best_n = 0
    for cand in by_stem.get(stem, ()):
        cparts = cand.lower().split("/")
        if cparts[-1] != base:
            continue
        n = 0
        while n < len(cparts) and n < len(low) and cparts[-1 - n] == low[-1 - n]:
            n += 1
        if not (n >= 2 or (n == len(cparts) and len(parts) <= 2) or (bare and len(parts) == 1)):
            continue
        if n > best_n:
            best, best_n = [cand], n
        elif n == best_n:
            best.append(cand)
    if bare and len(parts) == 1:
        return best if len(best) == 1 else []
    return sorted(best) if len(best) <= W.MAX_AMBIGUOUS_PATHS else []


_NAMED: dict[int, tuple[FileFacts, dict[str, list[Symbol]]]] = {}


def symbols_named(rec: FileRecord, name: str) -> list[Symbol]:
    """A file's definitions of `name` (indexed once per file's facts, found by identity)."""
    facts = rec.facts
    entry = _NAMED.get(id(facts))
    if entry is None or entry[0] is not facts:
        if len(_NAMED) > 50_000:  # older snapshots' facts: let them go
            _NAMED.clear()
        index: dict[str, list[Symbol]] = {}
        for s in facts.symbols:
            index.setdefault(s.name, []).append(s)
        entry = _NAMED[id(facts)] = (facts, index)
    return entry[1].get(name, [])


def _symbol_at(rec: FileRecord, function: str, line: int) -> Symbol | None:
    """The definition a frame's function names: by name (and class), the one holding `line` first."""
    if not function:
        return None
    owner, _, name = function.rpartition(".")
    found = [s for s in symbols_named(rec, name) if not owner or s.parent in ("", owner)]
    if owner:
        found.sort(key=lambda s: s.parent != owner)
    if line:
        found.sort(key=lambda s: not (s.start_line <= line <= s.end_line))
    return found[0] if found else None


# ---- tracebacks -------------------------------------------------------------------------------------


def traceback_hits(
    by_dir: Mapping[str, list[str]],
    by_stem: Mapping[str, list[str]],
    text: Mapping[str, FileRecord],
    defs: Mapping[str, frozenset[str]],
    frames: tuple[Frame, ...],
    error_names: tuple[CodeName, ...] = (),
) -> Hits:
    """Files of the workspace that frames run through; the frame nearest the error weighs most.

    A frame in this project's package whose file is not in the workspace (the file was
    renamed or moved since the reporter's version) still names its function: that
    function's definition takes the frame's place. What the error itself names
    (`RST.__init__() got an unexpected keyword`, `'AsStringVisitor' object has no
    attribute`) is where the failing call landed: as near the error as a frame gets.
    """
    hits = Hits()
    for cn in error_names:
        found = _definitions(cn, defs.get(cn.name, frozenset()), text)
        if not found and cn.qualifier:  # `Klass.__init__` that Klass inherits: the class itself
            owner = cn.qualifier.rsplit(".", 1)[-1]
            found = _definitions(CodeName(owner, "", "error"), defs.get(owner, frozenset()), text)
        files = {p for p, _ in found}
        for p, sym in found:
            why = f"defines `{sym.qualified}`, named by the error"
            hits.add(p, W.ERROR_NAME / math.sqrt(len(files)), why)
            hits.name(p, sym, why)
    mapped_in_block: dict[int, int] = {}
    for fr in sorted(frames, key=lambda f: (f.block, f.depth)):
        paths = [p for p in map_path(by_stem, fr.path, fr.source == "prose") if p in text]
        rank = mapped_in_block.get(fr.block, 0)
        if paths:
            mapped_in_block[fr.block] = rank + 1
            strength = W.FRAME_DECAY**rank / math.sqrt(len(paths))
            for p in paths:
                where = f" line {fr.line}" if fr.line else ""
                at = _symbol_at(text[p], fr.function, fr.line)
                func = f" in `{at.qualified if at else fr.function}`" if fr.function else ""
                why = f"{_SOURCE_WORDS[fr.source]}: `{p}`{where}{func}"
                hits.add(p, strength, why)
                if at is not None:
                    hits.name(p, at, why)
        elif fr.function and _in_project(by_dir, fr.path):
            owner, _, name = fr.function.rpartition(".")
            found = _definitions(CodeName(name, owner, "call"), defs.get(name, frozenset()), text)
            if found:
                mapped_in_block[fr.block] = rank + 1
                strength = W.FRAME_DECAY**rank * W.MOVED_FRAME / math.sqrt(len(found))
                for p, sym in found:
                    why = f"defines `{sym.qualified}`, in the traceback at `{fr.path.rsplit('/', 1)[-1]}`"
                    hits.add(p, strength, why)
                    hits.name(p, sym, why)
    return hits


_SOURCE_WORDS = {
    "traceback": "in the traceback",
    "output": "in the task's output",
    "prose": "the task points at",
}


def _in_project(by_dir: Mapping[str, list[str]], path: str) -> bool:
    """Whether a path from elsewhere runs through a top-level package of this workspace."""
    for part in path.split("/")[:-1]:
        for root in (part + "/", "src/" + part + "/", "lib/" + part + "/"):
            if any(p.startswith(root) for p in by_dir.get(part.lower(), ())):
                return True
    return False


# ---- code names -------------------------------------------------------------------------------------

_HOW_STRENGTH = {"construct": 1.0, "base": 1.0, "import": 1.0, "call": 0.9, "subscript": 0.6, "method": 0.5}
_HOW_WORDS = {
    "construct": "constructed",
    "base": "subclassed",
    "import": "imported",
    "call": "called",
    "subscript": "indexed",
    "method": "called",
}


def _in_workspace(by_dir: Mapping[str, list[str]], by_stem: Mapping[str, list[str]], top: str) -> bool:
    t = top.lower()
    return t in by_dir or t in by_stem


def _module_files(by_stem: Mapping[str, list[str]], module: str) -> list[str]:
    """Files a dotted module denotes: `a.b.c` -> a/b/c.py or a/b/c/__init__.py (any extension)."""
    parts = [p for p in re.split(r"[./]", module) if p]
    if len(parts) < 2:
        return []
    out = []
    for cand in by_stem.get(parts[-1].lower(), ()):
        stemless = cand.rsplit(".", 1)[0].lower().split("/")
        if stemless[-len(parts) :] == [p.lower() for p in parts]:
            out.append(cand)
    for cand in by_stem.get("__init__", ()) if not out else ():
        dirs = cand.lower().split("/")[:-1]
        if dirs[-len(parts) :] == [p.lower() for p in parts]:
            out.append(cand)
    return out


def code_hits(
    by_dir: Mapping[str, list[str]],
    by_stem: Mapping[str, list[str]],
    text: Mapping[str, FileRecord],
    defs: Mapping[str, frozenset[str]],
    refs: Mapping[str, Mapping[str, int]],
    parts: TaskParts,
) -> Hits:
    """Definitions of what the task's code calls, constructs, subscripts or imports.

    A snippet builds its data with the project's everyday names (`Dataset(...)`) and
    then calls the one that fails (`to_unstacked_dataset`): a name used in few files of
    the workspace says more than one used everywhere, so strength falls with the share
    of files that use the name.
    """
    hits = Hits()
    n_files = max(len(text), 2)
    imported_tops = {m.split(".")[0] for m in parts.modules}
    for module in parts.modules:
        for p in _module_files(by_stem, module):
            if p in text and not p.endswith(("/__init__.py", "/index.js", "/index.ts", "/mod.rs")):
                hits.add(p, W.MODULE_HIT, f"module `{module}` is imported by the task's code")
    for cn in parts.names:
        defining = defs.get(cn.name)
        if not defining:
            continue
        top = re.split(r"[./]", cn.qualifier)[0] if cn.qualifier else ""
        how = cn.how
        if top and not _in_workspace(by_dir, by_stem, top):
            if top in imported_tops:
                continue  # `pd.DataFrame(...)` with `import pandas as pd`: another library's name
            if how == "call" and top not in defs:
                how = "method"  # `seq.add_new(...)`: a variable the snippet did not define
        found = _definitions(cn, defining, text)
        files = {p for p, _ in found}
        users = len(refs.get(cn.name, ())) + 1
        specific = 1.0 - W.CODE_COMMONNESS * math.log(users) / math.log(n_files)
        for path, sym in found:
            why = f"defines `{sym.qualified}`, {_HOW_WORDS.get(how, 'used')} in the task's code"
            hits.add(path, _HOW_STRENGTH.get(how, 0.5) * max(specific, 0.1) / math.sqrt(len(files)), why)
            hits.name(path, sym, why)
    return hits


def _definitions(
    cn: CodeName, defining: frozenset[str], text: Mapping[str, FileRecord]
) -> list[tuple[str, Symbol]]:
    """The definitions a name denotes: those its qualifier fits best; none if it could be anything."""
    owner = cn.qualifier.rsplit(".", 1)[-1] if cn.qualifier else ""
    module_dirs = [p.lower() for p in re.split(r"[./]", cn.qualifier) if p] if cn.qualifier else []
    if not cn.qualifier and len(defining) > W.MAX_WORD_NAME_FILES:
        return []  # `update`, `get`: a name defined all over the place names nothing in particular
    candidates: list[tuple[float, str, Symbol]] = []
    for path in sorted(defining):
        rec = text.get(path)
        if rec is None:
            continue
        low = path.lower()
        for sym in symbols_named(rec, cn.name):
            fit = 0.0
            if owner and sym.parent == owner:
                fit = 1.0  # `Dataset.from_json`, or `ds.update` after `ds = Dataset(...)`
            elif module_dirs and all(d in low.split("/") or low.startswith(d) for d in module_dirs):
                fit = 0.8  # `from astroid.nodes import Unknown`: defined under astroid/nodes
            candidates.append((fit, path, sym))
    if not candidates:
        return []
    best_fit = max(c[0] for c in candidates)
    chosen = [(path, sym) for fit, path, sym in candidates if fit == best_fit]
    if best_fit == 0.0 and len({p for p, _ in chosen}) > W.MAX_WORD_NAME_FILES:
        return []  # `update`, `get`: a name defined all over the place names nothing in particular
    return chosen


# ---- messages and options ---------------------------------------------------------------------------

# printf / format / template placeholders: the variable parts of a message
_PLACEHOLDER = re.compile(
    r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[a-zA-Z]|%[-#0 +]*\d*(?:\.\d+)?[sdifgeExXorcru]|\{[^{}]*\}|\$\{[^}]*\}"
)
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True, slots=True)
class _Literal:
    text: str
    segments: tuple[str, ...]  # the space-joined words of each constant part (placeholders split them)
    n_words: int
    words: frozenset[str]


# the literals, which of them hold each word, and all their words (to meet a message's words in one step)
_SplitLiterals = tuple[tuple[_Literal, ...], dict[str, tuple[int, ...]], frozenset[str]]
# by content hash: a cache keyed by the literals themselves would hash hundreds of strings per lookup
_SPLIT: dict[str, _SplitLiterals] = {}
_SPLIT_MAX = 8192


def _literals_of(rec: FileRecord) -> _SplitLiterals:
    """A file's literals, split for matching, and which literals hold each word (cached per content)."""
    got = _SPLIT.get(rec.hash)
    if got is None:
        if len(_SPLIT) >= _SPLIT_MAX:
            _SPLIT.clear()
        got = _SPLIT[rec.hash] = _literals(rec.facts.strings)
    return got


def _literals(strings: tuple[str, ...]) -> _SplitLiterals:
    out: list[_Literal] = []
    holding: dict[str, list[int]] = {}
    for s in strings:
        segs = tuple(" ".join(w) for w in (_WORD.findall(seg.lower()) for seg in _PLACEHOLDER.split(s)) if w)
        words = frozenset(w for seg in segs for w in seg.split(" "))
        if words:
            for w in words:
                holding.setdefault(w, []).append(len(out))
            out.append(_Literal(s, segs, sum(seg.count(" ") + 1 for seg in segs), words))
    return tuple(out), {w: tuple(ix) for w, ix in holding.items()}, frozenset(holding)


def _candidates(literal_words: Mapping[str, list[str]], text: str, limit: int) -> list[str]:
    """The files whose string literals hold the rarest words of `text` best: where a literal
    containing it can be (`literal_words` is the snapshot's index of those words)."""
    rare = sorted((len(literal_words[w]), w) for w in snapshot_literal_words((text,)) if w in literal_words)
    weight: dict[str, float] = {}
    for df, w in rare[: W.LITERAL_TERMS]:
        if df > W.LITERAL_MAX_DF:
            break
        for path in literal_words[w]:  # a rarer word is better evidence that the literal is here
            weight[path] = weight.get(path, 0.0) + 1.0 / df
    if len(weight) <= limit:
        return sorted(weight)
    # ties broken by path, so that the answer never depends on the order of a posting list
    cut = heapq.nlargest(limit, weight.values())[-1]
    above = [p for p, w in weight.items() if w > cut]
    return sorted(above) + sorted(p for p, w in weight.items() if w == cut)[: limit - len(above)]


def _message_match(lit: _Literal, shared: int, joined: str, line: str) -> float:
    """How strongly one literal, `shared` of whose words the message has, is the message's constant text."""
    if shared >= W.LITERAL_MIN_WORDS:
        matched = sum(seg.count(" ") + 1 for seg in lit.segments if f" {seg} " in joined)
        if matched >= W.LITERAL_MIN_WORDS and matched / lit.n_words >= W.LITERAL_COVERAGE:
            return min(1.0, matched / W.LITERAL_FULL_WORDS) * matched / lit.n_words
    if (
        shared == len(lit.words)
        and len(lit.segments) == 1
        and len(lit.text) >= W.HEADING_CHARS
        and line.startswith(lit.text)
    ):
        return W.HEADING_HIT  # a heading the program prints, as printed: `Data variables:`
    return 0.0


def literal_hits(
    text: Mapping[str, FileRecord], literal_words: Mapping[str, list[str]], parts: TaskParts
) -> Hits:
    """Files whose string literals hold a message the task quotes, or an option it passes."""
    hits = Hits(independent=True)
    for msg in parts.messages:
        words = _WORD.findall(msg.lower())
        if not words:
            continue
        wordset = frozenset(words)
        joined = " " + " ".join(words) + " "
        line = msg.lstrip(" *-+>|")  # an output line without the markers of a list or a tree
        found: dict[str, tuple[float, str]] = {}
        for path in _candidates(literal_words, msg, W.LITERAL_FILES):
            literals, holding, all_words = _literals_of(text[path])
            shared: dict[int, int] = {}
            for w in wordset & all_words:
                for i in holding[w]:
                    shared[i] = shared.get(i, 0) + 1
            for i, n in shared.items():
                if n < W.LITERAL_MIN_WORDS and n != len(literals[i].words):
                    continue  # too few of its words for a message, and not a whole heading: no match
                strength = _message_match(literals[i], n, joined, line)
                if strength > found.get(path, (0.0, ""))[0]:
                    found[path] = (strength, literals[i].text)
        for path, (strength, literal) in found.items():
            shown = literal if len(literal) <= 80 else literal[:77] + "..."
            hits.add(path, strength / math.sqrt(len(found)), f"its string “{shown}” is in the task's message")
    exact = [(opt, f"defines the option `{opt}` the task passes") for opt in parts.options]
    exact += [(code, f"its string `{code}` is in the task's output") for code in parts.codes]
    for token, why in exact:
        name = token.lstrip("-").split("=", 1)[0]
        if len(name) < 3:
            continue
        wanted = {token, name, "--" + name}
        owners = [
            p
            for p in _candidates(literal_words, name.replace("-", " "), W.LITERAL_FILES)
            if not wanted.isdisjoint(text[p].facts.strings)
        ]
        if 0 < len(owners) <= W.MAX_WORD_NAME_FILES:
            for p in owners:
                hits.add(p, W.OPTION_HIT / math.sqrt(len(owners)), why)
    return hits
