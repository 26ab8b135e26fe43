"""Scala: classes, objects, traits, functions and values; imports and the package clauses."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from rtk_lsp.index.parse.spec import Def, Spec, node_text, squashed
from rtk_lsp.model import Import

if TYPE_CHECKING:
    from tree_sitter import Node


def _grammar() -> object:
    import tree_sitter_scala

    return tree_sitter_scala.language()


def _scala_value(node: Node, src: bytes) -> Iterable[Def]:
    name = node.child_by_field_name("pattern")
    if name is not None and name.type == "identifier":  # not `val (a, b) = ...`
        yield Def(node_text(name, src), "property", name)


def _scala_package(node: Node, src: bytes) -> str:
    """`package a.b` followed by `package c` is the package a.b.c."""
    parts = []
    clause: Node | None = node
    while clause is not None and clause.type == "package_clause":
        name = clause.child_by_field_name("name")
        if name is not None:
            parts.append(squashed(name, src))
        clause = clause.next_named_sibling
    return ".".join(parts)


_SCALA_RENAMED = frozenset({"as_renamed_identifier", "arrow_renamed_identifier"})


def _scala_imports(node: Node, src: bytes) -> list[Import]:
    """`import a.b.C`, `import a.b._` / `a.b.*`, `import a.b.{C, D => E}`: one import per name."""
    line = node.start_point.row + 1
    path = ".".join(node_text(c, src) for c in node.children_by_field_name("path") if c.is_named)
    if not path:
        return []
    out = []
    for child in node.named_children:
        selectors = child.named_children if child.type == "namespace_selectors" else [child]
        for sel in selectors:
            if sel.type == "namespace_wildcard":
                if node_text(sel, src) in ("_", "*"):  # not `given`
                    out.append(Import(path + ".*", ("*",), line))
                continue
            if sel.type in _SCALA_RENAMED:
                sel = sel.child_by_field_name("name") or sel
            if sel.type == "identifier" and child.type != "identifier":
                name = node_text(sel, src)
                out.append(Import(f"{path}.{name}", (name,), line))
    return out or [Import(path, (path.rpartition(".")[2],), line)]


SCALA = Spec(
    name="scala",
    extensions=(".scala",),
    grammar=_grammar,
    patterns=(
        "(identifier) @ref",
        "(type_identifier) @ref",
        "(simple_enum_case name: (identifier) @skip)",
        "(class_definition) @def.class",
        "(trait_definition) @def.trait",
        "(object_definition) @def.object",
        "(package_object) @def.object",
        "(enum_definition) @def.enum",
        "(function_definition) @def.function",
        "(function_declaration) @def.function",
        "(val_definition) @def.scala_value",
        "(var_definition) @def.scala_value",
        "(val_declaration) @def.property",
        "(var_declaration) @def.property",
        "(type_definition) @def.type",
        "(lambda_expression) @def.scope",
        "(package_clause) @pkg",
        "(import_declaration) @imp",
    ),
    defs={
        "class": "class",
        "trait": "trait",
        "object": "object",
        "enum": "enum",
        "function": "function",
        "scala_value": _scala_value,
        "property": "property",
        "type": "type",
        "scope": "scope",
    },
    imports=_scala_imports,
    package=_scala_package,
    comments=frozenset({"comment", "block_comment"}),
    refs_in_imports=True,
)


SPECS = (SCALA,)
