"""C: functions and prototypes, structs, unions, enums, typedefs and macros; quoted `#include`s.

C++ (`cpp.py`) extends these tables.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from rtk_lsp.index.parse.spec import Def, Handler, Spec, clean_name, node_text, nth_child
from rtk_lsp.model import Import

if TYPE_CHECKING:
    from tree_sitter import Node


def _grammar() -> object:
    import tree_sitter_c

    return tree_sitter_c.language()


_C_DECLARATOR_WRAPPERS = frozenset(
    {"pointer_declarator", "reference_declarator", "attributed_declarator", "type_qualifier"}
)


_C_NAME_NODES = frozenset(
    {"identifier", "field_identifier", "destructor_name", "operator_name", "template_function"}
)


def _c_function(node: Node, src: bytes) -> Iterable[Def]:
    """Functions and prototypes: follow the declarator chain to the name."""
    d = node.child_by_field_name("declarator")
    is_function = False
    while d is not None:
        if d.type == "function_declarator":
            is_function = True
            d = d.child_by_field_name("declarator")
        elif d.type in _C_DECLARATOR_WRAPPERS and not is_function:
            # `int& f()` keeps its inner declarator in an unnamed child
            d = d.child_by_field_name("declarator") or nth_child(d, d.named_child_count - 1)
        else:
            break
    if not is_function or d is None:
        return
    owner = ""
    while d is not None and d.type == "qualified_identifier":
        scope = d.child_by_field_name("scope")
        owner = clean_name(node_text(scope, src)) if scope is not None else owner
        d = d.child_by_field_name("name")
    if d is None or d.type not in _C_NAME_NODES:
        return  # e.g. a function pointer variable `int (*fp)(int)`
    name = node_text(d, src)
    if d.type == "template_function":
        inner = d.child_by_field_name("name")
        name = node_text(inner, src) if inner is not None else clean_name(name)
    if d.type == "destructor_name":  # `~Widget`: the class name inside is not a use
        name_node = nth_child(d, 0)
    else:
        name_node = d if d.type in ("identifier", "field_identifier") else None
    yield Def(name, "method" if owner else "function", name_node, owner)


def _c_typedef(node: Node, src: bytes) -> Iterable[Def]:
    d = node.child_by_field_name("declarator")
    while d is not None and d.type != "type_identifier":
        # `typedef int (*handler)(int);` wraps the name in parentheses
        d = d.child_by_field_name("declarator") or (
            nth_child(d, 0) if d.type == "parenthesized_declarator" else None
        )
    if d is None:
        return
    body = node.child_by_field_name("type")
    kind = "type"
    # `typedef struct { ... } Point;` is how C names a struct
    if body is not None and body.child_by_field_name("name") is None and body.child_by_field_name("body"):
        kind = {"struct_specifier": "struct", "union_specifier": "struct", "enum_specifier": "enum"}.get(
            body.type, "type"
        )
    yield Def(node_text(d, src), kind, d)


def _c_imports(node: Node, src: bytes) -> list[Import]:
    path = node.child_by_field_name("path")
    if path is None or path.type != "string_literal":
        return []
    return [Import(node_text(path, src)[1:-1], (), node.start_point.row + 1)]


# Shared with C++, whose grammar extends C's.
PATTERNS = (
    "(identifier) @ref",
    "(type_identifier) @ref",
    "(field_expression field: (field_identifier) @ref)",
    "(enumerator name: (identifier) @skip)",
    "(function_definition) @def.c_function",
    "(declaration declarator: (function_declarator)) @def.c_function",
    "(declaration declarator: (pointer_declarator declarator: (function_declarator))) @def.c_function",
    "(struct_specifier name: (_) body: (_)) @def.struct",
    "(union_specifier name: (_) body: (_)) @def.struct",
    "(enum_specifier name: (_) body: (_)) @def.enum",
    "(type_definition) @def.c_typedef",
    "(preproc_def) @def.macro",
    "(preproc_function_def) @def.macro",
    "(preproc_include path: (string_literal)) @imp",
)


DEFS: dict[str, str | Handler] = {
    "c_function": _c_function,
    "struct": "struct",
    "enum": "enum",
    "c_typedef": _c_typedef,
    "macro": "macro",
}


C = Spec(
    name="c",
    extensions=(".c", ".h"),
    grammar=_grammar,
    patterns=PATTERNS,
    defs=DEFS,
    imports=_c_imports,
    # a struct declared inside a typedef is documented above the typedef
    wrappers=frozenset({"type_definition"}),
)


SPECS = (C,)
