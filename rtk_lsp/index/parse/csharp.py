"""C#: types, members, constants and properties; `using` directives and the namespace."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from rtk_lsp.index.parse.spec import STOP_NAMES, Def, Spec, named_child, node_text, squashed
from rtk_lsp.model import Import

if TYPE_CHECKING:
    from tree_sitter import Node


def _grammar() -> object:
    import tree_sitter_c_sharp

    return tree_sitter_c_sharp.language()


def _cs_field(node: Node, src: bytes) -> Iterable[Def]:
    """`const` and `static readonly` fields are constants; other fields are state, not API."""
    words = {node_text(c, src) for c in node.named_children if c.type == "modifier"}
    if "const" not in words and not {"static", "readonly"} <= words:
        return
    decl = named_child(node, frozenset({"variable_declaration"}))
    for d in decl.named_children if decl is not None else ():
        name = d.child_by_field_name("name") if d.type == "variable_declarator" else None
        if name is not None:
            yield Def(node_text(name, src), "constant", name)


_CS_NAMES = frozenset({"identifier", "qualified_name", "generic_name", "alias_qualified_name"})


def _cs_imports(node: Node, src: bytes) -> list[Import]:
    """`using A.B;`, `using static A.B.C;`, `using D = A.B.C;` (names: the alias)."""
    alias = node.child_by_field_name("name")
    start = alias.end_byte if alias is not None else -1
    target = next(
        (c for c in reversed(node.named_children) if c.type in _CS_NAMES and c.start_byte > start), None
    )
    if target is None:
        return []
    names = (node_text(alias, src),) if alias is not None else ()
    return [Import(squashed(target, src), names, node.start_point.row + 1)]


CSHARP = Spec(
    name="csharp",
    extensions=(".cs",),
    grammar=_grammar,
    patterns=(
        "(identifier) @ref",
        "(enum_member_declaration name: (identifier) @skip)",
        "(class_declaration) @def.class",
        "(record_declaration) @def.class",
        "(interface_declaration) @def.interface",
        "(struct_declaration) @def.struct",
        "(enum_declaration) @def.enum",
        "(method_declaration) @def.method",
        "(constructor_declaration) @def.method",
        "(property_declaration) @def.property",
        "(delegate_declaration) @def.type",
        "(field_declaration) @def.cs_field",
        "(lambda_expression) @def.scope",
        "(anonymous_method_expression) @def.scope",
        "(namespace_declaration name: (_) @pkg)",
        "(file_scoped_namespace_declaration name: (_) @pkg)",
        "(using_directive) @imp",
    ),
    defs={
        "class": "class",
        "interface": "interface",
        "struct": "struct",
        "enum": "enum",
        "method": "method",
        "property": "property",
        "type": "type",
        "cs_field": _cs_field,
        "scope": "scope",
    },
    imports=_cs_imports,
    package=squashed,
    xml_doc=True,
    stop_names=STOP_NAMES | {"var", "nameof", "value"},
    refs_in_imports=True,
)


SPECS = (CSHARP,)
