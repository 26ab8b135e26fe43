"""Rust: items, impls, modules and macros; `use` trees, `extern crate` and `mod name;`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from rtk_lsp.index.parse.spec import Def, Spec, clean_name, node_text, nth_child, squash
from rtk_lsp.model import Import

if TYPE_CHECKING:
    from tree_sitter import Node


def _grammar() -> object:
    import tree_sitter_rust

    return tree_sitter_rust.language()


def _rs_impl(node: Node, src: bytes) -> Iterable[Def]:
    target = node.child_by_field_name("type")
    if target is not None:
        yield Def(clean_name(node_text(target, src)), "impl", None)


def _rs_imports(node: Node, src: bytes) -> list[Import]:
    line = node.start_point.row + 1
    if node.type in ("mod_item", "extern_crate_declaration"):
        name = node.child_by_field_name("name")
        if name is None:
            return []
        prefix = "mod:" if node.type == "mod_item" else ""
        return [Import(prefix + node_text(name, src), (), line)]
    groups: dict[str, list[str]] = {}
    arg = node.child_by_field_name("argument")
    if arg is not None:
        _rs_use_tree(arg, "", groups, src)
    return [Import(module, tuple(names), line) for module, names in groups.items() if module]


def _rs_use_tree(node: Node, prefix: str, groups: dict[str, list[str]], src: bytes) -> None:
    """Flatten a use tree into module path -> imported names."""

    def join(a: str, b: str) -> str:
        return f"{a}::{b}" if a and b else a or b

    t = node.type
    if t == "scoped_identifier":
        path = node.child_by_field_name("path")
        name = node.child_by_field_name("name")
        module = join(prefix, squash(node_text(path, src)) if path is not None else "")
        groups.setdefault(module, [])
        if name is not None:
            groups[module].append(node_text(name, src))
    elif t == "use_as_clause":
        path = node.child_by_field_name("path")
        if path is not None:
            _rs_use_tree(path, prefix, groups, src)
    elif t == "use_wildcard":
        path = nth_child(node, 0)
        module = join(prefix, squash(node_text(path, src)) if path is not None else "")
        groups.setdefault(module, []).append("*")
    elif t == "scoped_use_list":
        path = node.child_by_field_name("path")
        inner = join(prefix, squash(node_text(path, src)) if path is not None else "")
        items = node.child_by_field_name("list")
        if items is not None:
            _rs_use_tree(items, inner, groups, src)
    elif t == "use_list":
        for child in node.named_children:
            _rs_use_tree(child, prefix, groups, src)
    elif prefix:  # identifier / self / super / crate inside a list
        groups.setdefault(prefix, []).append(node_text(node, src))
    else:  # `use foo;`
        groups.setdefault(node_text(node, src), [])


RUST = Spec(
    name="rust",
    extensions=(".rs",),
    grammar=_grammar,
    patterns=(
        "(identifier) @ref",
        "(type_identifier) @ref",
        "(field_expression field: (field_identifier) @ref)",
        "(enum_variant name: (identifier) @skip)",
        "(function_item) @def.function",
        "(function_signature_item) @def.function",
        "(struct_item) @def.struct",
        "(union_item) @def.struct",
        "(enum_item) @def.enum",
        "(trait_item) @def.trait",
        "(type_item) @def.type",
        "(impl_item) @def.rs_impl",
        "(mod_item body: (declaration_list)) @def.module",
        "(const_item) @def.constant",
        "(static_item) @def.constant",
        "(macro_definition) @def.macro",
        "(closure_expression) @def.scope",
        "(use_declaration) @imp",
        "(extern_crate_declaration) @imp",
        "(mod_item !body) @imp",
    ),
    defs={
        "function": "function",
        "struct": "struct",
        "enum": "enum",
        "trait": "trait",
        "type": "type",
        "rs_impl": _rs_impl,
        "module": "module",
        "constant": "constant",
        "macro": "macro",
        "scope": "scope",
    },
    imports=_rs_imports,
    comments=frozenset({"line_comment", "block_comment"}),
    between=frozenset({"attribute_item"}),
    refs_in_imports=True,
)


SPECS = (RUST,)
