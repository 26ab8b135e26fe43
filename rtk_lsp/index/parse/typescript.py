"""TypeScript and TSX: JavaScript's tables plus interfaces, type aliases, enums, signatures and namespaces."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from rtk_lsp.index.parse import javascript
from rtk_lsp.index.parse.spec import Def, Handler, Spec, clean_name, node_text

if TYPE_CHECKING:
    from tree_sitter import Node


def _typescript_grammar() -> object:
    import tree_sitter_typescript

    return tree_sitter_typescript.language_typescript()


def _tsx_grammar() -> object:
    import tree_sitter_typescript

    return tree_sitter_typescript.language_tsx()


def _ts_module(node: Node, src: bytes) -> Iterable[Def]:
    name = node.child_by_field_name("name")
    if name is not None:
        yield Def(clean_name(node_text(name, src)), "module", name)


_TS_PATTERNS = (
    *javascript.COMMON_PATTERNS,
    "(type_identifier) @ref",
    "(public_field_definition name: (property_identifier) value: [(arrow_function) (function_expression)])"
    " @def.js_field",
    "(abstract_class_declaration) @def.class",
    "(interface_declaration) @def.interface",
    "(type_alias_declaration) @def.type",
    "(enum_declaration) @def.enum",
    "(method_signature) @def.method",
    "(abstract_method_signature) @def.method",
    "(function_signature) @def.function",
    "(internal_module) @def.ts_module",
    "(module) @def.ts_module",
)


_TS_DEFS: dict[str, str | Handler] = {
    **javascript.COMMON_DEFS,
    "interface": "interface",
    "type": "type",
    "enum": "enum",
    "ts_module": _ts_module,
}


_TS_WRAPPERS = frozenset(
    {
        "export_statement",
        "lexical_declaration",
        "variable_declaration",
        "ambient_declaration",
        "expression_statement",
    }
)


TYPESCRIPT = Spec(
    name="typescript",
    extensions=(".ts", ".mts", ".cts"),
    grammar=_typescript_grammar,
    patterns=_TS_PATTERNS,
    defs=_TS_DEFS,
    imports=javascript.JAVASCRIPT.imports,
    wrappers=_TS_WRAPPERS,
    multi=javascript.MULTI_DECLARATORS,
    refs_in_imports=True,
)


TSX = replace(TYPESCRIPT, name="tsx", extensions=(".tsx",), grammar=_tsx_grammar)


SPECS = (TYPESCRIPT, TSX)
