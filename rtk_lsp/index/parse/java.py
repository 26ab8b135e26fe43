"""Java: classes, records, interfaces, enums, methods and constants; imports and the package declaration."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from rtk_lsp.index.parse.spec import Def, Spec, node_text, nth_child, squash
from rtk_lsp.model import Import

if TYPE_CHECKING:
    from tree_sitter import Node


def _grammar() -> object:
    import tree_sitter_java

    return tree_sitter_java.language()


def _java_field(node: Node, src: bytes) -> Iterable[Def]:
    mods = nth_child(node, 0)
    if mods is None or mods.type != "modifiers":
        return
    words = {c.type for c in mods.children}
    if "static" in words and "final" in words:
        yield from _java_constant(node, src)


def _java_constant(node: Node, src: bytes) -> Iterable[Def]:
    for decl in node.children_by_field_name("declarator"):
        name = decl.child_by_field_name("name")
        if name is not None:
            yield Def(node_text(name, src), "constant", name)


def _java_imports(node: Node, src: bytes) -> list[Import]:
    path = next((c for c in node.named_children if c.type in ("scoped_identifier", "identifier")), None)
    if path is None:
        return []
    line = node.start_point.row + 1
    dotted = squash(node_text(path, src))
    wildcard = any(c.type == "asterisk" for c in node.named_children)
    if any(c.type == "static" for c in node.children):
        # a static import names a member: the module is its class
        if wildcard:
            return [Import(dotted, ("*",), line)]
        owner, _, member = dotted.rpartition(".")
        return [Import(owner or dotted, (member,), line)]
    if wildcard:
        return [Import(dotted + ".*", ("*",), line)]
    return [Import(dotted, (dotted.rpartition(".")[2],), line)]


def _java_package(node: Node, src: bytes) -> str:
    for child in node.named_children:
        if child.type in ("scoped_identifier", "identifier"):
            return squash(node_text(child, src))
    return ""


JAVA = Spec(
    name="java",
    extensions=(".java",),
    grammar=_grammar,
    patterns=(
        "(identifier) @ref",
        "(type_identifier) @ref",
        "(enum_constant name: (identifier) @skip)",
        "(scoped_identifier (identifier) @skip)",
        "(package_declaration (identifier) @skip)",
        "(import_declaration (identifier) @skip)",
        "(class_declaration) @def.class",
        "(record_declaration) @def.class",
        "(interface_declaration) @def.interface",
        "(annotation_type_declaration) @def.interface",
        "(enum_declaration) @def.enum",
        "(method_declaration) @def.method",
        "(constructor_declaration) @def.method",
        "(field_declaration) @def.java_field",
        "(constant_declaration) @def.java_constant",
        # anonymous classes and lambdas in field initialisers are local code
        "(object_creation_expression (class_body)) @def.scope",
        "(lambda_expression) @def.scope",
        "(package_declaration) @pkg",
        "(import_declaration) @imp",
    ),
    defs={
        "class": "class",
        "interface": "interface",
        "enum": "enum",
        "method": "method",
        "java_field": _java_field,
        "java_constant": _java_constant,
        "scope": "scope",
    },
    imports=_java_imports,
    package=_java_package,
    comments=frozenset({"line_comment", "block_comment"}),
)


SPECS = (JAVA,)
