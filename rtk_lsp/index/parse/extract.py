"""The extraction loop shared by every language: one file's definitions, references, imports, package.

One compiled tree-sitter query per language does all the matching in C; Python
only touches the captured nodes. Captures are sorted by start byte where order
matters (tree-sitter does not return them in document order). Reference
identifiers are by far the most numerous captures, so their loop is kept to a
few attribute reads and everything else is done once per distinct name.

`extract` runs inside indexing worker processes on a cold start, so grammars,
parsers and queries are built lazily, once per language per process.
"""

from __future__ import annotations

import logging
import re
import threading
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import accumulate, repeat
from operator import add

from tree_sitter import Language, Node, Parser, Query, QueryCursor, QueryError

from rtk_lsp.index.parse import MANIFESTS, SPECS
from rtk_lsp.index.parse.spec import (
    Def,
    Handler,
    Spec,
    clean_name,
    last_row,
    named_child,
    node_text,
    nth_child,
)
from rtk_lsp.model import EMPTY_FACTS, FileFacts, Import, Symbol

__all__ = ["MAX_REF_LINES", "MAX_STRINGS", "MAX_STRING_CHARS", "STRING_NODE_TYPES", "extract"]

log = logging.getLogger(__name__)

MAX_SIGNATURE = 160
MAX_DOC = 160
MAX_REF_LINES = 8
# Bytes of header read for a signature; bounds the work on minified lines.
_HEADER_BYTES = 1024
# String literals kept per file, and the characters kept of each: enough for the messages and
# option names a task quotes, bounded so that a data table of strings does not bloat the store.
MAX_STRINGS = 400
MAX_STRING_CHARS = 240

# Node types that are string literals in some grammar. Whichever of them a grammar has are
# captured, so a language added to the registry gets its literals without a pattern of its own.
STRING_NODE_TYPES = (
    "string",
    "string_literal",
    "interpreted_string_literal",
    "raw_string_literal",
    "template_string",
    "text_block",
    "encapsed_string",
    "line_string_literal",
    "multi_line_string_literal",
    "verbatim_string_literal",
    "interpolated_string_expression",
)
# A string that is a whole statement is a docstring or a directive (`"use strict"`), not a message.
# The query captures those too: asking each literal for its parent cost half of `_strings`.
_STATEMENT = "expression_statement"


# What a definition means for the definitions inside it.
_OPAQUE = 0  # a function body: what is inside is local and not reported
_MEMBER = 1  # class-like: functions inside become methods of it
_MODULE = 2  # namespace-like (and the file): what is inside keeps its kind


@dataclass(slots=True)
class _Compiled:
    parser: Parser
    query: Query
    spec: Spec
    # Whether a string literal can hold another as a direct child (PHP, Swift, Scala): only
    # then are literals' children looked at, which costs more than all the rest of `_strings`.
    nested_strings: bool
    # A Parser must not parse two files at once. Today parse() holds the GIL, so
    # this never waits; it keeps threads safe should a release stop doing so.
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(slots=True)
class _Acc:
    """What has been extracted so far, so that a failure keeps the rest."""

    symbols: list[Symbol] = field(default_factory=list)
    imports: list[Import] = field(default_factory=list)
    refs: dict[str, int] = field(default_factory=dict)
    ref_lines: dict[str, tuple[int, ...]] = field(default_factory=dict)
    package: str = ""
    strings: tuple[str, ...] = ()

    def facts(self) -> FileFacts:
        if not (self.symbols or self.imports or self.refs or self.package or self.strings):
            return EMPTY_FACTS
        return FileFacts(
            symbols=tuple(self.symbols),
            refs=self.refs,
            imports=tuple(self.imports),
            package=self.package,
            ref_lines=self.ref_lines,
            strings=self.strings,
        )


_COMPILED: dict[str, _Compiled | None] = {}


def _compile(language: str) -> _Compiled | None:
    if language in _COMPILED:
        return _COMPILED[language]
    compiled = None
    spec = SPECS.get(language)
    if spec is not None:
        try:
            lang = Language(spec.grammar())
            types = _string_types(lang)
            statements = (f"({_STATEMENT} ({t}) @stmt)" for t in types)
            patterns = (
                *spec.patterns,
                *(f"({t}) @str" for t in types),
                *(p for p in statements if _possible(lang, p)),
            )
            query = _build_query(lang, patterns, language)
            compiled = _Compiled(Parser(lang), query, spec, _can_nest(lang, types))
        except Exception:
            log.debug("no tree-sitter support for %s", language, exc_info=True)
    _COMPILED[language] = compiled
    return compiled


def _string_types(lang: Language) -> tuple[str, ...]:
    return tuple(t for t in STRING_NODE_TYPES if lang.id_for_node_kind(t, True))


def _can_nest(lang: Language, types: tuple[str, ...]) -> bool:
    """Whether the grammar lets one string literal be a direct child of another."""
    return any(_possible(lang, f"({outer} ({inner}))") for outer in types for inner in types)


def _possible(lang: Language, pattern: str) -> bool:
    """Whether the grammar can produce what `pattern` matches: tree-sitter refuses to compile a
    pattern that names a node type the grammar lacks, or a child its parent can never have."""
    try:
        Query(lang, pattern)
        return True
    except QueryError:  # "Impossible pattern", "Invalid node type"
        return False


def _build_query(lang: Language, patterns: tuple[str, ...], language: str) -> Query:
    try:
        return Query(lang, "\n".join(patterns))
    except Exception:
        # A grammar release renamed a node type: keep every pattern that still compiles.
        kept = []
        for p in patterns:
            try:
                Query(lang, p)
                kept.append(p)
            except Exception:
                log.debug("%s: dropping query pattern %s", language, p)
        return Query(lang, "\n".join(kept))


# ---------------------------------------------------------------------------
# extraction


def extract(rel_path: str, language: str, source: bytes) -> FileFacts:
    """Symbols, references, imports and package of one file. Never raises."""
    acc = _Acc()
    try:
        compiled = _compile(language)
        if compiled is not None and source:
            _extract(compiled, source, acc)
        manifest = MANIFESTS.get(rel_path.rpartition("/")[2])
        if manifest is not None:
            acc.package = manifest(source)
    except Exception:
        log.debug("extract failed for %s (%s)", rel_path, language, exc_info=True)
    return acc.facts()


@dataclass(slots=True)
class _File:
    """Per-file state shared by the extraction phases."""

    spec: Spec
    src: bytes
    acc: _Acc
    # Start bytes of identifiers that are not uses: definition names, keyword
    # argument names, the names spelled out in imports and package clauses.
    skip: set[int]


def _extract(compiled: _Compiled, src: bytes, acc: _Acc) -> None:
    spec = compiled.spec
    with compiled.lock:
        tree = compiled.parser.parse(src)
    captures = QueryCursor(compiled.query).captures(tree.root_node)
    f = _File(spec, src, acc, skip={n.start_byte for n in captures.get("skip", ())})

    # Each phase is guarded on its own: a surprise in one construct costs that
    # phase's remaining results, not the whole file.
    try:
        for node in sorted(captures.get("pkg", ()), key=lambda n: n.start_byte):
            if spec.package is not None and not acc.package:
                acc.package = spec.package(node, src)
            if spec.refs_in_imports:
                _skip_refs(compiled, node, f.skip)
        for node in sorted(captures.get("imp", ()), key=lambda n: n.start_byte):
            acc.imports.extend(spec.imports(node, src))
            if spec.refs_in_imports:
                _skip_refs(compiled, node, f.skip)
    except Exception:
        log.debug("imports failed", exc_info=True)
    try:
        _definitions(f, captures)
    except Exception:
        log.debug("definitions failed", exc_info=True)
    _references(f, captures.get("ref", ()))
    try:
        acc.strings = _strings(
            captures.get("str", ()), src, compiled.nested_strings, captures.get("stmt", ())
        )
    except Exception:
        log.debug("strings failed", exc_info=True)


def _skip_refs(compiled: _Compiled, node: Node, skip: set[int]) -> None:
    for n in QueryCursor(compiled.query).captures(node).get("ref", ()):
        skip.add(n.start_byte)


def _definitions(f: _File, captures: dict[str, list[Node]]) -> None:
    spec, src, skip = f.spec, f.src, f.skip
    found: list[tuple[int, int, int, Node, str | Handler]] = []
    for cap, nodes in captures.items():
        how = spec.defs.get(cap[4:]) if cap.startswith("def.") else None
        if how is not None:
            for n in nodes:
                start, end = n.byte_range
                # the index only breaks ties, so that nodes are never compared
                found.append((start, -end, len(found), n, how))
    found.sort()

    # Containment is decided with a stack over definitions in document order
    # rather than by walking each definition's ancestors.
    # A frame is (end byte, role for what is inside, name); the bottom one is the file.
    stack: list[tuple[float, int, str]] = [(float("inf"), _MODULE, "")]
    for start, neg_end, _, node, how in found:
        while stack[-1][0] <= start:
            stack.pop()
        _, role, owner = stack[-1]
        if how == "scope":
            stack.append((-neg_end, _OPAQUE, ""))
            continue
        if isinstance(how, str):
            name = node.child_by_field_name("name")
            text = "" if name is None else node_text(name, src)
            defs = [Def(clean_name(text) if spec.clean_names else text, how, name)] if text else []
        else:
            defs = list(how(node, src))
        emitted = owner_name = ""
        for d in defs:
            if d.name_node is not None:
                skip.add(d.name_node.start_byte)
            if role == _OPAQUE:
                continue  # local to a function body
            kind, parent = d.kind, d.parent or owner
            if role == _MEMBER and kind == "function":
                kind = "method"
            if kind == "method" and not parent:
                continue  # an object-literal method, not part of a type
            if not emitted:
                emitted, owner_name = kind, d.name
            f.acc.symbols.append(_symbol(f, node, d.name, kind, parent))
        if emitted in spec.class_like:
            stack.append((-neg_end, _MEMBER, owner_name))
        elif emitted == "module":
            stack.append((-neg_end, _MODULE, owner_name))
        elif emitted == "type" or (how == "module" and not defs):
            # a typedef around a struct, an anonymous namespace: not a container
            stack.append((-neg_end, role, owner))
        else:
            stack.append((-neg_end, _OPAQUE, ""))


def _outer(spec: Spec, node: Node) -> Node:
    """The node that carries the definition's decorators, `export`, template header."""
    while True:
        parent = node.parent
        if parent is None or parent.type not in spec.wrappers:
            return node
        counted = spec.multi.get(parent.type)
        if counted and sum(1 for c in parent.named_children if c.type in counted) > 1:
            return node
        node = parent


_PY_DOCUMENTED = frozenset({"function", "method", "class"})


def _symbol(f: _File, node: Node, name: str, kind: str, parent: str) -> Symbol:
    spec, src = f.spec, f.src
    outer = _outer(spec, node) if spec.wrappers else node
    body = node.child_by_field_name("body")
    if body is None and spec.bodies:
        body = named_child(node, spec.bodies)
    header_end = body.start_byte if body is not None else -1
    if spec.python_docstrings:
        doc = _docstring(body, src) if kind in _PY_DOCUMENTED and body is not None else ""
        header_start = node.start_byte  # the `def` line, not the first decorator
        if body is not None and src.find(b"#", header_start, header_end) >= 0:
            # `def f():  # comment` keeps the comment between the colon and the body
            before = body.prev_sibling
            while before is not None and before.type == "comment":
                header_end = before.start_byte
                before = before.prev_sibling
    else:
        doc = _leading_comment(spec, outer, src)
        header_start = _header_start(outer)
    return Symbol(
        name=name,
        kind=kind,
        start_line=outer.start_point[0] + 1,
        end_line=last_row(outer) + 1,
        signature=_signature(src, header_start, header_end, outer.end_byte, spec.python_docstrings),
        doc=doc,
        parent=parent,
    )


_SIG_SKIP = frozenset(
    {
        "decorator",
        "marker_annotation",
        "annotation",
        "attribute",  # Swift `@objc`
        "attribute_list",  # C# `[Obsolete]`, PHP `#[Pure]`
        "comment",
        "line_comment",
        "block_comment",
    }
)


def _header_start(node: Node) -> int:
    """Where the definition's own text begins, after decorators and annotations."""
    for child in node.children:
        if child.type in _SIG_SKIP:
            continue
        if child.type == "modifiers":  # Java annotations live among the modifiers
            inner = next((m for m in child.children if m.type not in _SIG_SKIP), None)
            if inner is None:
                continue
            return inner.start_byte
        return child.start_byte
    return node.start_byte


def _signature(src: bytes, start: int, body: int, end: int, python: bool) -> str:
    """The definition's header, up to its body (`body` is where that starts, -1 if none)."""
    header = b""
    # the whole header up to `:` / `{`, even when the parameters span lines
    if start < body <= start + _HEADER_BYTES and (python or src[body : body + 1] == b"{"):
        header = src[start:body]
    if not header:
        limit = min(end, start + _HEADER_BYTES)
        stop = src.find(b"\n", start, limit)
        header = src[start : stop if stop >= 0 else limit]
    text = " ".join(header.decode("utf-8", "replace").split())
    if b"\n" in header:  # parameters laid out one per line
        text = text.replace("( ", "(").replace(" )", ")").replace(",)", ")")
    if not python:
        text = text.rstrip("{").rstrip()
    return text[:MAX_SIGNATURE]


def _docstring(body: Node, src: bytes) -> str:
    first = nth_child(body, 0)
    if first is None or first.type != "expression_statement":
        return ""
    string = nth_child(first, 0)
    if string is None or string.type != "string":
        return ""
    # the first non-blank line is all that is kept: no need to decode a long docstring
    raw = src[string.start_byte : min(string.end_byte, string.start_byte + 1024)].decode("utf-8", "replace")
    raw = raw.lstrip("rRbBuUfF")
    quote = raw[:3] if raw[:3] in ('"""', "'''") else raw[:1]
    raw = raw[len(quote) :]
    if raw.endswith(quote):
        raw = raw[: -len(quote)]
    return raw.lstrip().partition("\n")[0].strip()[:MAX_DOC]


def _leading_comment(spec: Spec, outer: Node, src: bytes) -> str:
    """First meaningful line of the comment block directly above a definition."""
    row = outer.start_point[0]
    run: list[Node] = []
    prev = outer.prev_sibling
    if prev is None and outer.parent is not None and outer.parent.type in spec.hoist:
        prev = outer.parent.prev_sibling
    while prev is not None:
        if prev.type in spec.between:
            row = prev.start_point[0]
            prev = prev.prev_sibling
            continue
        if prev.type not in spec.comments:
            break
        gap = row - 1 - last_row(prev)
        if gap > 0:
            # JSDoc / Javadoc blocks are sometimes kept one blank line away; a
            # file's first comment is more likely a licence header than a doc
            if not run and gap == 1 and prev.start_point[0] > 0 and src.startswith(b"/**", prev.start_byte):
                run.append(prev)
            break
        before = prev.prev_sibling
        if (
            before is not None
            and before.type not in spec.comments
            and last_row(before) == prev.start_point[0]
        ):
            break  # a trailing comment of the previous statement
        run.append(prev)
        row = prev.start_point[0]
        prev = before
    for comment in reversed(run):
        for line in node_text(comment, src).splitlines():
            line = _strip_comment_marker(line)
            if spec.xml_doc:
                line = _XML_TAG.sub("", line).strip()
            if any(ch.isalnum() for ch in line):
                return line[:MAX_DOC]
    return ""


_XML_TAG = re.compile(r"<[^>]*>")
_COMMENT_OPENERS = ("/**", "/*!", "/*", "///", "//!", "//", "*", "#")


def _strip_comment_marker(line: str) -> str:
    line = line.strip()
    for opener in _COMMENT_OPENERS:
        if line.startswith(opener):
            line = line[len(opener) :]
            break
    if line.endswith("*/"):
        line = line[:-2]
    return line.strip()


def _references(f: _File, nodes: Iterable[Node]) -> None:
    src, skip, stop = f.src, f.skip, f.spec.stop_names
    # The hot loop: one iteration per identifier in the file, kept minimal. It keeps start
    # bytes only: lines are counted for the few occurrences kept of each name.
    where: dict[bytes, list[int]] = {}
    get = where.get
    for n in nodes:
        start, end = n.byte_range  # one call, not two: this loop runs 1.6 M times on sympy
        # one-letter names (`i`, `x`) are common and never kept: drop them first
        if end - start < 2 or start in skip:
            continue
        key = src[start:end]
        starts = get(key)
        if starts is None:
            where[key] = [start]
        else:
            starts.append(start)
    if not where:
        return

    # where each line ends (after its newline): the line of a byte is how many end at or before it
    ends = list(accumulate(map(add, map(len, src.split(b"\n")), repeat(1))))
    refs, ref_lines = f.acc.refs, f.acc.ref_lines
    for key, starts in sorted(where.items()):
        name = key.decode("utf-8", "replace")
        if len(name) < 2 or name in stop:
            continue
        if len(starts) > 1:
            starts.sort()  # captures do not come in document order
        lines: list[int] = []
        for start in starts:
            line = bisect_right(ends, start) + 1
            if not lines or lines[-1] != line:
                lines.append(line)
                if len(lines) == MAX_REF_LINES:
                    break
        if name in refs:  # two invalid byte sequences that decode alike
            lines = sorted(set(lines).union(ref_lines[name]))[:MAX_REF_LINES]
            refs[name] += len(starts)
        else:
            refs[name] = len(starts)
        ref_lines[name] = tuple(lines)


_STRING_OPEN = re.compile(r"^[A-Za-z@$]{0,3}(#*)(\"\"\"|\'\'\'|[\"\'`])")


def _unquote(raw: str) -> str:
    """A literal's text without its prefix and quotes: `f"x"`, `r#"x"#` (Rust), `R"d(x)d"` (C++)."""
    m = _STRING_OPEN.match(raw)
    if m is None:
        return raw
    hashes, quote = m.group(1), m.group(2)
    body = raw[m.end() :]
    if quote == '"' and raw[: m.start(1)].endswith("R"):
        delim, _, body = body.partition("(")
        end = ")" + delim + '"'
    else:
        end = quote + hashes
    return body[: -len(end)] if body.endswith(end) else body


def _strings(nodes: Iterable[Node], src: bytes, nested: bool, statements: Iterable[Node]) -> tuple[str, ...]:
    """The distinct string literals of a file but those that are `statements` (docstrings),
    messages before single words."""
    seen: dict[str, None] = {}
    # outer literals before those they hold; the index breaks ties, so that nodes are never compared
    spans = sorted((start, -end, i, n) for i, n in enumerate(nodes) for start, end in (n.byte_range,))
    left_out = {n.byte_range for n in statements}
    for start, neg_end, _, n in spans:
        if (start, -neg_end) in left_out:
            continue
        raw = src[start : min(-neg_end, start + 4 * MAX_STRING_CHARS)].decode("utf-8", "replace")
        if nested:  # a grammar may nest a string node in another: keep the outer one only
            left_out.update(child.byte_range for child in n.named_children)
        text = _unquote(raw).strip()
        if len(text) < 3 or not any(c.isalpha() for c in text):
            continue
        seen.setdefault(" ".join(text.split())[:MAX_STRING_CHARS], None)
    strings = list(seen)
    if len(strings) > MAX_STRINGS:
        # a message says more than a key: keep the literals with words first, in file order
        worded = [t for t in strings if " " in t]
        strings = (worded + [t for t in strings if " " not in t])[:MAX_STRINGS]
    return tuple(strings)
