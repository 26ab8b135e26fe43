"""What a language module declares for the shared extraction loop (`extract.py`), and node helpers.

This module does not load tree-sitter: the registry (`parse/__init__.py`) imports every
language module for its name and file extensions, and the pure side (language detection,
the task's file names) reads that without paying for grammars. A grammar is loaded by
`Spec.grammar()` when a file of its language is first parsed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

from rtk_lsp.model import Import

if TYPE_CHECKING:
    from tree_sitter import Node

# Identifiers that are never worth linking on, whatever the language.
STOP_NAMES = frozenset({"self", "this", "cls", "super"})
# Kinds whose functions are methods of them.
CLASS_LIKE = frozenset(
    {"class", "struct", "interface", "trait", "impl", "enum", "object", "protocol", "extension"}
)


class Def(NamedTuple):
    """One definition found by a handler."""

    name: str
    kind: str
    # The node holding the name at the definition site; it is not a reference.
    # None when the "name" is itself a use (a Rust impl names the type it implements).
    name_node: Node | None
    parent: str = ""  # set when the syntax names the owner (Go receiver, C++ `A::f`)


# Definitions from a captured node, where its `name` field is not enough.
Handler = Callable[["Node", bytes], Iterable[Def]]


@dataclass(frozen=True, slots=True)
class Spec:
    """What differs between languages; the extraction loop itself is shared.

    Patterns capture `@ref` (a use of a name), `@skip` (an identifier that is not a use),
    `@def.<key>` (a definition, see `defs`), `@imp` (an import, read by `imports`) and
    `@pkg` (the package clause, read by `package`).
    """

    name: str  # the language, as `detect_language` reports it
    extensions: tuple[str, ...]  # lowercase file name endings, with the dot
    grammar: Callable[[], object]  # the tree-sitter language pointer (imports the grammar module)
    patterns: tuple[str, ...]
    # capture "def.<key>" -> a plain kind (name in the `name` field) or a handler
    defs: dict[str, str | Handler]
    imports: Callable[[Node, bytes], list[Import]]
    package: Callable[[Node, bytes], str] | None = None
    # Parents that belong to a definition: decorators, `export`, `template <..>`.
    # Those in `multi` only count when they hold a single child of the given types
    # (`const a = 1, b = 2` gives each name its own declarator as its extent).
    wrappers: frozenset[str] = frozenset()
    multi: dict[str, frozenset[str]] = field(default_factory=dict)
    comments: frozenset[str] = frozenset({"comment"})
    # Siblings allowed between a doc comment and its definition.
    between: frozenset[str] = frozenset()
    python_docstrings: bool = False
    # Containers whose own leading comments document their first child: Ruby keeps the
    # comment above a class's first method before the body node that holds the method.
    hoist: frozenset[str] = frozenset()
    # Doc comments are XML (C# `/// <summary>`): tags are not the doc line.
    xml_doc: bool = False
    # Kinds whose functions become methods (Ruby modules hold methods too).
    class_like: frozenset[str] = CLASS_LIKE
    # Body node types, for grammars whose definitions have no `body` field (Kotlin).
    bodies: frozenset[str] = frozenset()
    # Strip scopes and template arguments from names (`ns::Foo<T>` -> `Foo`).
    clean_names: bool = False
    # Words never reported as references (keywords that error recovery turns into identifiers).
    stop_names: frozenset[str] = STOP_NAMES
    # Whether `ref` patterns match inside import and package nodes, so that each such
    # subtree must be searched for identifiers to leave out. Languages whose
    # import identifiers can be told apart by a `skip` pattern do that instead.
    refs_in_imports: bool = False
    # Build manifests read for import resolution: file name -> what becomes its `package`
    # (composer.json's PSR-4 map, Package.swift's targets).
    manifests: Mapping[str, Callable[[bytes], str]] = field(default_factory=dict)


# ---------------------------------------------------------------------------
# small node helpers


def node_text(node: Node, src: bytes) -> str:
    return src[node.start_byte : node.end_byte].decode("utf-8", "replace")


def squash(text: str) -> str:
    return "".join(text.split())


def last_row(node: Node) -> int:
    # Preprocessor lines and Rust `///` comments own their newline, so they
    # end at column 0 of the next line.
    row, col = node.end_point
    if col == 0 and row > node.start_point.row:
        return int(row) - 1
    return int(row)


def clean_name(text: str) -> str:
    # `ns::Foo<T>` -> `Foo`; `"mod"` -> `mod`
    text = text.rsplit("::", 1)[-1].split("<", 1)[0]
    return text.strip().strip("\"'`")


def string_value(node: Node | None, src: bytes) -> str:
    if node is None or node.type != "string":
        return ""
    return node_text(node, src)[1:-1]


def plain_string(node: Node | None, src: bytes) -> str:
    """The content of a string literal without interpolation, "" otherwise."""
    if node is None:
        return ""
    parts = node.named_children
    if len(parts) != 1 or parts[0].type != "string_content":
        return ""
    return node_text(parts[0], src)


def squashed(node: Node, src: bytes) -> str:
    return squash(node_text(node, src))


def named_child(node: Node | None, types: frozenset[str]) -> Node | None:
    return next((c for c in node.named_children if c.type in types), None) if node is not None else None


def nth_child(node: Node | None, index: int) -> Node | None:
    """The index-th named child; tree-sitter raises rather than returning None."""
    if node is None or not 0 <= index < node.named_child_count:
        return None
    return node.named_child(index)


def first_descendant(node: Node | None, types: frozenset[str]) -> Node | None:
    stack = [node] if node is not None else []
    while stack:
        n = stack.pop()
        if n.type in types:
            return n
        stack.extend(reversed(n.named_children))
    return None
