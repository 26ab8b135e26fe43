"""Go: functions, methods with their receiver type, types and constants; imports and the package clause."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from rtk_lsp.index.parse.spec import Def, Spec, first_descendant, node_text
from rtk_lsp.model import Import

if TYPE_CHECKING:
    from tree_sitter import Node


def _grammar() -> object:
    import tree_sitter_go

    return tree_sitter_go.language()


_TYPE_ID = frozenset({"type_identifier"})


def _go_method(node: Node, src: bytes) -> Iterable[Def]:
    name = node.child_by_field_name("name")
    receiver = first_descendant(node.child_by_field_name("receiver"), _TYPE_ID)
    if name is not None:
        owner = node_text(receiver, src) if receiver is not None else ""
        yield Def(node_text(name, src), "method", name, owner)


def _go_type(node: Node, src: bytes) -> Iterable[Def]:
    name = node.child_by_field_name("name")
    if name is None:
        return
    body = node.child_by_field_name("type")
    btype = body.type if body is not None else ""
    kind = "struct" if btype == "struct_type" else "interface" if btype == "interface_type" else "type"
    yield Def(node_text(name, src), kind, name)


def _go_const(node: Node, src: bytes) -> Iterable[Def]:
    for name in node.children_by_field_name("name"):
        yield Def(node_text(name, src), "constant", name)


def _go_imports(node: Node, src: bytes) -> list[Import]:
    out = []
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type == "import_spec":
            path = n.child_by_field_name("path")
            if path is not None:
                out.append(Import(node_text(path, src)[1:-1], (), n.start_point.row + 1))
        else:
            stack.extend(n.named_children)
    return sorted(out, key=lambda i: i.line)


def _go_package(node: Node, src: bytes) -> str:
    return node_text(node, src)


GO = Spec(
    name="go",
    extensions=(".go",),
    grammar=_grammar,
    patterns=(
        "(identifier) @ref",
        "(type_identifier) @ref",
        "(selector_expression field: (field_identifier) @ref)",
        "(qualified_type package: (package_identifier) @ref)",
        "(function_declaration) @def.function",
        "(method_declaration) @def.go_method",
        "(type_spec) @def.go_type",
        "(type_alias) @def.type",
        "(method_elem) @def.method",
        "(source_file (const_declaration (const_spec) @def.go_const))",
        "(func_literal) @def.scope",
        "(package_clause (package_identifier) @pkg)",
        "(import_declaration) @imp",
    ),
    defs={
        "function": "function",
        "go_method": _go_method,
        "go_type": _go_type,
        "type": "type",
        "method": "method",
        "go_const": _go_const,
        "scope": "scope",
    },
    imports=_go_imports,
    package=_go_package,
    wrappers=frozenset({"type_declaration", "const_declaration"}),
    multi={
        "type_declaration": frozenset({"type_spec", "type_alias"}),
        "const_declaration": frozenset({"const_spec"}),
    },
)


SPECS = (GO,)
