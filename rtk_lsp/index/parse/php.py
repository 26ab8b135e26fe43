"""PHP: classes, interfaces, traits, enums, functions, methods, constants and properties; `use` and literal `require`s; composer.json's PSR-4 map."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING

from rtk_lsp.index.parse.spec import (
    STOP_NAMES,
    Def,
    Spec,
    named_child,
    node_text,
    nth_child,
    plain_string,
    squashed,
)
from rtk_lsp.model import Import

if TYPE_CHECKING:
    from tree_sitter import Node


def _grammar() -> object:
    import tree_sitter_php

    return tree_sitter_php.language_php()


def _php_constants(node: Node, src: bytes) -> Iterable[Def]:
    for element in node.named_children:
        name = named_child(element, frozenset({"name"})) if element.type == "const_element" else None
        if name is not None:
            yield Def(node_text(name, src), "constant", name)


def _php_properties(node: Node, src: bytes) -> Iterable[Def]:
    for element in node.named_children:
        if element.type != "property_element":
            continue
        var = element.child_by_field_name("name") or nth_child(element, 0)
        name = nth_child(var, 0) if var is not None and var.type == "variable_name" else None
        if name is not None:
            yield Def(node_text(name, src), "property", name)


_PHP_INCLUDES = frozenset(
    {"require_expression", "require_once_expression", "include_expression", "include_once_expression"}
)
_PHP_STRINGS = frozenset({"string", "encapsed_string"})


def _php_include_path(arg: Node | None, src: bytes) -> str:
    """`'x.php'`, `__DIR__ . '/x.php'` (as "./x.php"); "" when the path is computed."""
    while arg is not None and arg.type == "parenthesized_expression":
        arg = nth_child(arg, 0)
    if arg is None:
        return ""
    if arg.type in _PHP_STRINGS:
        return plain_string(arg, src)
    left, right = arg.child_by_field_name("left"), arg.child_by_field_name("right")
    if (
        arg.type == "binary_expression"
        and left is not None
        and right is not None
        and right.type in _PHP_STRINGS
        and squashed(left, src) in ("__DIR__", "dirname(__FILE__)")
    ):
        rest = plain_string(right, src).lstrip("/")
        return "./" + rest if rest else ""
    return ""


def _php_imports(node: Node, src: bytes) -> list[Import]:
    """`use A\\B\\C;` and `use A\\{B, C}` as one import per class; `require` of a literal path."""
    line = node.start_point.row + 1
    if node.type in _PHP_INCLUDES:
        path = _php_include_path(nth_child(node, 0), src)
        return [Import(path, (), line)] if path else []
    prefix = ""
    clauses: list[Node] = []
    for child in node.named_children:
        if child.type == "namespace_name":
            prefix = squashed(child, src) + "\\"
        elif child.type == "namespace_use_clause":
            clauses.append(child)
        elif child.type == "namespace_use_group":
            clauses.extend(c for c in child.named_children if c.type == "namespace_use_clause")
    out = []
    for clause in clauses:
        # the alias of `B as C` is a later `name`
        target = named_child(clause, frozenset({"qualified_name", "name"}))
        if target is not None:
            full = (prefix + squashed(target, src)).lstrip("\\")
            out.append(Import(full, (full.rpartition("\\")[2],), line))
    return out


def _composer_psr4(source: bytes) -> str:
    """composer.json's PSR-4 autoload map, as `namespace prefix<TAB>directory` lines."""
    try:
        data = json.loads(source)
    except ValueError:
        return ""
    lines = []
    for section in ("autoload", "autoload-dev"):
        autoload = data.get(section) if isinstance(data, dict) else None
        psr4 = autoload.get("psr-4") if isinstance(autoload, dict) else None
        for prefix, dirs in psr4.items() if isinstance(psr4, dict) else ():
            for d in [dirs] if isinstance(dirs, str) else dirs if isinstance(dirs, list) else ():
                if isinstance(d, str) and not any(c in prefix + d for c in "\t\n"):
                    lines.append(f"{prefix}\t{d}")
    return "\n".join(lines)


PHP = Spec(
    name="php",
    extensions=(".php",),
    grammar=_grammar,
    manifests={"composer.json": _composer_psr4},
    patterns=(
        "(name) @ref",
        # `$local` variables are never definitions elsewhere; namespace paths are not uses
        "(variable_name (name) @skip)",
        "(namespace_name (name) @skip)",
        "(namespace_use_clause (name) @skip)",
        "(namespace_use_clause (qualified_name (name) @skip))",
        "(enum_case name: (name) @skip)",
        "(class_declaration) @def.class",
        "(interface_declaration) @def.interface",
        "(trait_declaration) @def.trait",
        "(enum_declaration) @def.enum",
        "(method_declaration) @def.method",
        "(function_definition) @def.function",
        "(const_declaration) @def.php_const",
        "(property_declaration) @def.php_property",
        "(anonymous_class) @def.scope",
        "(anonymous_function) @def.scope",
        "(arrow_function) @def.scope",
        "(namespace_definition name: (namespace_name) @pkg)",
        "(namespace_use_declaration) @imp",
        *(f"({t}) @imp" for t in sorted(_PHP_INCLUDES)),
    ),
    defs={
        "class": "class",
        "interface": "interface",
        "trait": "trait",
        "enum": "enum",
        "method": "method",
        "function": "function",
        "php_const": _php_constants,
        "php_property": _php_properties,
        "scope": "scope",
    },
    imports=_php_imports,
    package=squashed,
    stop_names=STOP_NAMES | {"parent", "static"},
)


SPECS = (PHP,)
