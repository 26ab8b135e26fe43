"""Kotlin: classes, objects, interfaces, functions, properties and type aliases; imports and the package."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from rtk_lsp.index.parse.spec import STOP_NAMES, Def, Spec, named_child, node_text, nth_child, squashed
from rtk_lsp.model import Import

if TYPE_CHECKING:
    from tree_sitter import Node


def _grammar() -> object:
    import tree_sitter_kotlin

    return tree_sitter_kotlin.language()


def _kt_class(node: Node, src: bytes) -> Iterable[Def]:
    name = node.child_by_field_name("name")
    if name is None:
        return
    kind = "class"
    for c in node.children:
        if c.type == "interface":
            kind = "interface"
        elif c.type == "modifiers" and any(
            m.type == "class_modifier" and node_text(m, src) == "enum" for m in c.named_children
        ):
            kind = "enum"
    yield Def(node_text(name, src), kind, name)


def _kt_property(node: Node, src: bytes) -> Iterable[Def]:
    name = nth_child(named_child(node, frozenset({"variable_declaration"})), 0)
    if name is None or name.type != "identifier":
        return  # `val (a, b) = pair`
    mods = named_child(node, frozenset({"modifiers"}))
    const = mods is not None and any(node_text(m, src) == "const" for m in mods.named_children)
    yield Def(node_text(name, src), "constant" if const else "property", name)


def _kt_type_alias(node: Node, src: bytes) -> Iterable[Def]:
    name = node.child_by_field_name("type")
    if name is not None:
        yield Def(node_text(name, src), "type", name)


def _kt_imports(node: Node, src: bytes) -> list[Import]:
    path = named_child(node, frozenset({"qualified_identifier"}))
    if path is None:
        return []
    line = node.start_point.row + 1
    dotted = squashed(path, src)
    if any(c.type == "*" for c in node.children):
        return [Import(dotted + ".*", ("*",), line)]
    return [Import(dotted, (dotted.rpartition(".")[2],), line)]


KOTLIN = Spec(
    name="kotlin",
    extensions=(".kt", ".kts"),
    grammar=_grammar,
    patterns=(
        "(identifier) @ref",
        "(enum_entry (identifier) @skip)",
        "(class_declaration) @def.kt_class",
        "(object_declaration) @def.object",
        "(function_declaration) @def.function",
        "(property_declaration) @def.kt_property",
        "(type_alias) @def.kt_type",
        "(lambda_literal) @def.scope",
        "(anonymous_function) @def.scope",
        "(object_literal) @def.scope",
        "(package_header (qualified_identifier) @pkg)",
        "(import) @imp",
    ),
    defs={
        "kt_class": _kt_class,
        "object": "object",
        "function": "function",
        "kt_property": _kt_property,
        "kt_type": _kt_type_alias,
        "scope": "scope",
    },
    imports=_kt_imports,
    package=squashed,
    comments=frozenset({"line_comment", "block_comment"}),
    bodies=frozenset({"class_body", "enum_class_body", "function_body"}),
    stop_names=STOP_NAMES | {"it"},
    refs_in_imports=True,
)


SPECS = (KOTLIN,)
