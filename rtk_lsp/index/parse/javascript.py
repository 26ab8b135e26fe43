"""JavaScript: declarations, classes, CommonJS and prototype assignments; ES `import`/`export ... from`, `require()`, `import()`.

TypeScript (`typescript.py`) extends these tables.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from rtk_lsp.index.parse.spec import Def, Handler, Spec, clean_name, node_text, nth_child, string_value
from rtk_lsp.model import Import

if TYPE_CHECKING:
    from tree_sitter import Node


def _grammar() -> object:
    import tree_sitter_javascript

    return tree_sitter_javascript.language()


_JS_FUNCTION_VALUES = frozenset({"arrow_function", "function_expression", "function", "generator_function"})


def _js_variable(node: Node, src: bytes) -> Iterable[Def]:
    name = node.child_by_field_name("name")
    if name is None or name.type != "identifier":
        return
    value = node.child_by_field_name("value")
    vtype = value.type if value is not None else ""
    if vtype in _JS_FUNCTION_VALUES:
        yield Def(node_text(name, src), "function", name)
    elif vtype == "class":
        yield Def(node_text(name, src), "class", name)
    else:
        decl = node.parent
        kind = decl.child_by_field_name("kind") if decl is not None else None
        if kind is not None and kind.type == "const":
            yield Def(node_text(name, src), "constant", name)


def _js_field_function(node: Node, src: bytes) -> Iterable[Def]:
    # `handle = () => {}` in a class body: a method in all but syntax
    name = node.child_by_field_name("property") or node.child_by_field_name("name")
    if name is not None:
        yield Def(node_text(name, src), "method", name)


def _js_assigned_function(node: Node, src: bytes) -> Iterable[Def]:
    """CommonJS / prototype style: `Foo.prototype.bar = function () {}`, `res.send = ...`."""
    left = node.child_by_field_name("left")
    prop = left.child_by_field_name("property") if left is not None else None
    obj = left.child_by_field_name("object") if left is not None else None
    if prop is None or obj is None:
        return
    owner = node_text(obj, src)
    if obj.type == "member_expression" and owner.endswith(".prototype"):
        owner = owner[: -len(".prototype")].rsplit(".", 1)[-1]
    elif obj.type != "identifier" or owner in ("exports", "module"):
        owner = ""
    name = node_text(prop, src)
    if name == "exports":  # `module.exports = function createApp() {}`
        fn_name = node.child_by_field_name("right")
        fn_name = fn_name.child_by_field_name("name") if fn_name is not None else None
        if fn_name is None:
            return
        prop, name = fn_name, node_text(fn_name, src)
    yield Def(name, "method" if owner else "function", prop, owner)


def _js_imports(node: Node, src: bytes) -> list[Import]:
    line = node.start_point.row + 1
    if node.type == "call_expression":  # require("x") / import("x")
        args = node.child_by_field_name("arguments")
        spec = string_value(nth_child(args, 0), src)
        return [Import(spec, (), line)] if spec else []
    spec = string_value(node.child_by_field_name("source"), src)
    names: list[str] = []
    for child in node.named_children:
        if child.type == "import_require_clause":  # TypeScript `import fs = require("fs")`
            spec = string_value(child.child_by_field_name("source"), src)
            names.extend(node_text(c, src) for c in child.named_children if c.type == "identifier")
        elif child.type == "import_clause":
            for part in child.named_children:
                if part.type == "identifier":  # default import: its local name
                    names.append(node_text(part, src))
                elif part.type == "namespace_import":
                    names.append("*")
                elif part.type == "named_imports":
                    names.extend(_specifier_names(part, "import_specifier", src))
        elif child.type == "export_clause":
            names.extend(_specifier_names(child, "export_specifier", src))
        elif child.type == "namespace_export":
            names.append("*")
    if not spec:
        return []
    if node.type == "export_statement" and not names:
        names.append("*")  # `export * from "./x"`
    return [Import(spec, tuple(names), line)]


def _specifier_names(node: Node, kind: str, src: bytes) -> list[str]:
    out = []
    for spec in node.named_children:
        if spec.type == kind:
            name = spec.child_by_field_name("name")
            if name is not None:
                out.append(clean_name(node_text(name, src)))
    return out


# Shared with TypeScript, whose grammar extends JavaScript's.
COMMON_PATTERNS = (
    "(identifier) @ref",
    "(member_expression property: (property_identifier) @ref)",
    "(shorthand_property_identifier) @ref",
    "(function_declaration) @def.function",
    "(generator_function_declaration) @def.function",
    "(class_declaration) @def.class",
    "(method_definition) @def.method",
    "(program (lexical_declaration (variable_declarator) @def.js_var))",
    "(program (variable_declaration (variable_declarator) @def.js_var))",
    "(program (export_statement declaration: (lexical_declaration (variable_declarator) @def.js_var)))",
    "(program (export_statement declaration: (variable_declaration (variable_declarator) @def.js_var)))",
    "(program (expression_statement (assignment_expression left: (member_expression)"
    " right: [(function_expression) (arrow_function)]) @def.js_assign))",
    # callbacks: whatever is declared inside is local
    "(arrow_function) @def.scope",
    "(function_expression) @def.scope",
    "(import_statement) @imp",
    "(export_statement source: (string)) @imp",
    "((call_expression function: (identifier) @_fn arguments: (arguments . (string))) @imp"
    ' (#eq? @_fn "require"))',
    "(call_expression function: (import) arguments: (arguments . (string))) @imp",
)


COMMON_DEFS: dict[str, str | Handler] = {
    "function": "function",
    "class": "class",
    "method": "method",
    "js_var": _js_variable,
    "js_field": _js_field_function,
    "js_assign": _js_assigned_function,
    "scope": "scope",
}


MULTI_DECLARATORS = {
    "lexical_declaration": frozenset({"variable_declarator"}),
    "variable_declaration": frozenset({"variable_declarator"}),
}


JAVASCRIPT = Spec(
    name="javascript",
    extensions=(".js", ".mjs", ".cjs", ".jsx"),
    grammar=_grammar,
    patterns=(
        *COMMON_PATTERNS,
        "(field_definition property: (property_identifier) value: [(arrow_function) (function_expression)])"
        " @def.js_field",
    ),
    defs=COMMON_DEFS,
    imports=_js_imports,
    wrappers=frozenset(
        {"export_statement", "lexical_declaration", "variable_declaration", "expression_statement"}
    ),
    multi=MULTI_DECLARATORS,
    refs_in_imports=True,
)


SPECS = (JAVASCRIPT,)
