"""Extract definitions, references, imports and the package of one source file.

One compiled tree-sitter query per language does all the matching in C; Python
only touches the captured nodes. Captures are sorted by start byte where order
matters (tree-sitter does not return them in document order). Reference
identifiers are by far the most numerous captures, so their loop is kept to a
few attribute reads and everything else is done once per distinct name.

`extract` runs inside indexing worker processes on a cold start, so grammars,
parsers and queries are built lazily, once per language per process.
"""

from __future__ import annotations

import importlib
import json
import keyword
import logging
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from itertools import islice
from typing import NamedTuple

from tree_sitter import Language, Node, Parser, Query, QueryCursor

from rtk_lsp.model import EMPTY_FACTS, FileFacts, Import, Symbol

log = logging.getLogger(__name__)

MAX_SIGNATURE = 160
MAX_DOC = 160
MAX_REF_LINES = 8
# Bytes of header read for a signature; bounds the work on minified lines.
_HEADER_BYTES = 1024

# Kinds whose functions are methods of them.
_CLASS_LIKE = frozenset(
    {"class", "struct", "interface", "trait", "impl", "enum", "object", "protocol", "extension"}
)
# Identifiers that are never worth linking on, whatever the language.
_STOP_NAMES = frozenset({"self", "this", "cls", "super"})
_PY_KEYWORDS = frozenset(keyword.kwlist) | _STOP_NAMES
_PY_CONSTANT = re.compile(r"_*[A-Z][A-Z0-9_]*")

# What a definition means for the definitions inside it.
_OPAQUE = 0  # a function body: what is inside is local and not reported
_MEMBER = 1  # class-like: functions inside become methods of it
_MODULE = 2  # namespace-like (and the file): what is inside keeps its kind


class _Def(NamedTuple):
    """One definition found by a handler."""

    name: str
    kind: str
    # The node holding the name at the definition site; it is not a reference.
    # None when the "name" is itself a use (a Rust impl names the type it implements).
    name_node: Node | None
    parent: str = ""  # set when the syntax names the owner (Go receiver, C++ `A::f`)


_Handler = Callable[[Node, bytes], Iterable[_Def]]


@dataclass(frozen=True, slots=True)
class _Spec:
    """What differs between languages; the extraction loop itself is shared."""

    grammar: tuple[str, str]  # module, function returning the language pointer
    patterns: tuple[str, ...]
    # capture "def.<key>" -> a plain kind (name in the `name` field) or a handler
    defs: dict[str, str | _Handler]
    imports: Callable[[Node, bytes], list[Import]]
    package: Callable[[Node, bytes], str] | None = None
    # Parents that belong to a definition: decorators, `export`, `template <..>`.
    # Those in `multi` only count when they hold a single child of the given types
    # (`const a = 1, b = 2` gives each name its own declarator as its extent).
    wrappers: frozenset[str] = frozenset()
    multi: dict[str, frozenset[str]] = field(default_factory=dict)
    comments: frozenset[str] = frozenset({"comment"})
    # Siblings allowed between a doc comment and its definition.
    between: frozenset[str] = frozenset()
    python_docstrings: bool = False
    # Containers whose own leading comments document their first child: Ruby keeps the
    # comment above a class's first method before the body node that holds the method.
    hoist: frozenset[str] = frozenset()
    # Doc comments are XML (C# `/// <summary>`): tags are not the doc line.
    xml_doc: bool = False
    # Kinds whose functions become methods (Ruby modules hold methods too).
    class_like: frozenset[str] = _CLASS_LIKE
    # Body node types, for grammars whose definitions have no `body` field (Kotlin).
    bodies: frozenset[str] = frozenset()
    # Strip scopes and template arguments from names (`ns::Foo<T>` -> `Foo`).
    clean_names: bool = False
    # Words never reported as references (keywords that error recovery turns into identifiers).
    stop_names: frozenset[str] = _STOP_NAMES
    # Whether `ref` patterns match inside import and package nodes, so that each such
    # subtree must be searched for identifiers to leave out. Languages whose
    # import identifiers can be told apart by a `skip` pattern do that instead.
    refs_in_imports: bool = False


@dataclass(slots=True)
class _Compiled:
    parser: Parser
    query: Query
    spec: _Spec
    # A Parser must not parse two files at once. Today parse() holds the GIL, so
    # this never waits; it keeps threads safe should a release stop doing so.
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(slots=True)
class _Acc:
    """What has been extracted so far, so that a failure keeps the rest."""

    symbols: list[Symbol] = field(default_factory=list)
    imports: list[Import] = field(default_factory=list)
    refs: dict[str, int] = field(default_factory=dict)
    ref_lines: dict[str, tuple[int, ...]] = field(default_factory=dict)
    package: str = ""

    def facts(self) -> FileFacts:
        if not (self.symbols or self.imports or self.refs or self.package):
            return EMPTY_FACTS
        return FileFacts(
            symbols=tuple(self.symbols),
            refs=self.refs,
            imports=tuple(self.imports),
            package=self.package,
            ref_lines=self.ref_lines,
        )


# ---------------------------------------------------------------------------
# small node helpers


def _text(node: Node, src: bytes) -> str:
    return src[node.start_byte : node.end_byte].decode("utf-8", "replace")


def _squash(text: str) -> str:
    return "".join(text.split())


def _last_row(node: Node) -> int:
    # Preprocessor lines and Rust `///` comments own their newline, so they
    # end at column 0 of the next line.
    row, col = node.end_point
    if col == 0 and row > node.start_point.row:
        return int(row) - 1
    return int(row)


def _clean_name(text: str) -> str:
    # `ns::Foo<T>` -> `Foo`; `"mod"` -> `mod`
    text = text.rsplit("::", 1)[-1].split("<", 1)[0]
    return text.strip().strip("\"'`")


def _string_value(node: Node | None, src: bytes) -> str:
    if node is None or node.type != "string":
        return ""
    return _text(node, src)[1:-1]


def _plain_string(node: Node | None, src: bytes) -> str:
    """The content of a string literal without interpolation, "" otherwise."""
    if node is None:
        return ""
    parts = node.named_children
    if len(parts) != 1 or parts[0].type != "string_content":
        return ""
    return _text(parts[0], src)


def _squashed(node: Node, src: bytes) -> str:
    return _squash(_text(node, src))


def _named_child(node: Node | None, types: frozenset[str]) -> Node | None:
    return next((c for c in node.named_children if c.type in types), None) if node is not None else None


def _child(node: Node | None, index: int) -> Node | None:
    """The index-th named child; tree-sitter raises rather than returning None."""
    if node is None or not 0 <= index < node.named_child_count:
        return None
    return node.named_child(index)


def _first_descendant(node: Node | None, types: frozenset[str]) -> Node | None:
    stack = [node] if node is not None else []
    while stack:
        n = stack.pop()
        if n.type in types:
            return n
        stack.extend(reversed(n.named_children))
    return None


# ---------------------------------------------------------------------------
# per-language definition handlers (only where the `name` field is not enough)

_TYPE_ID = frozenset({"type_identifier"})


def _py_constant(node: Node, src: bytes) -> Iterable[_Def]:
    assign = _child(node, 0)
    left = assign.child_by_field_name("left") if assign is not None else None
    if left is not None and left.type == "identifier":
        name = _text(left, src)
        if _PY_CONSTANT.fullmatch(name):
            yield _Def(name, "constant", left)


def _py_type_alias(node: Node, src: bytes) -> Iterable[_Def]:
    left = node.child_by_field_name("left")
    while left is not None and left.type in ("type", "generic_type"):
        left = _child(left, 0)
    if left is not None and left.type == "identifier":
        yield _Def(_text(left, src), "type", left)


_JS_FUNCTION_VALUES = frozenset({"arrow_function", "function_expression", "function", "generator_function"})


def _js_variable(node: Node, src: bytes) -> Iterable[_Def]:
    name = node.child_by_field_name("name")
    if name is None or name.type != "identifier":
        return
    value = node.child_by_field_name("value")
    vtype = value.type if value is not None else ""
    if vtype in _JS_FUNCTION_VALUES:
        yield _Def(_text(name, src), "function", name)
    elif vtype == "class":
        yield _Def(_text(name, src), "class", name)
    else:
        decl = node.parent
        kind = decl.child_by_field_name("kind") if decl is not None else None
        if kind is not None and kind.type == "const":
            yield _Def(_text(name, src), "constant", name)


def _js_field_function(node: Node, src: bytes) -> Iterable[_Def]:
    # `handle = () => {}` in a class body: a method in all but syntax
    name = node.child_by_field_name("property") or node.child_by_field_name("name")
    if name is not None:
        yield _Def(_text(name, src), "method", name)


def _js_assigned_function(node: Node, src: bytes) -> Iterable[_Def]:
    """CommonJS / prototype style: `Foo.prototype.bar = function () {}`, `res.send = ...`."""
    left = node.child_by_field_name("left")
    prop = left.child_by_field_name("property") if left is not None else None
    obj = left.child_by_field_name("object") if left is not None else None
    if prop is None or obj is None:
        return
    owner = _text(obj, src)
    if obj.type == "member_expression" and owner.endswith(".prototype"):
        owner = owner[: -len(".prototype")].rsplit(".", 1)[-1]
    elif obj.type != "identifier" or owner in ("exports", "module"):
        owner = ""
    name = _text(prop, src)
    if name == "exports":  # `module.exports = function createApp() {}`
        fn_name = node.child_by_field_name("right")
        fn_name = fn_name.child_by_field_name("name") if fn_name is not None else None
        if fn_name is None:
            return
        prop, name = fn_name, _text(fn_name, src)
    yield _Def(name, "method" if owner else "function", prop, owner)


def _ts_module(node: Node, src: bytes) -> Iterable[_Def]:
    name = node.child_by_field_name("name")
    if name is not None:
        yield _Def(_clean_name(_text(name, src)), "module", name)


def _rs_impl(node: Node, src: bytes) -> Iterable[_Def]:
    target = node.child_by_field_name("type")
    if target is not None:
        yield _Def(_clean_name(_text(target, src)), "impl", None)


def _go_method(node: Node, src: bytes) -> Iterable[_Def]:
    name = node.child_by_field_name("name")
    receiver = _first_descendant(node.child_by_field_name("receiver"), _TYPE_ID)
    if name is not None:
        owner = _text(receiver, src) if receiver is not None else ""
        yield _Def(_text(name, src), "method", name, owner)


def _go_type(node: Node, src: bytes) -> Iterable[_Def]:
    name = node.child_by_field_name("name")
    if name is None:
        return
    body = node.child_by_field_name("type")
    btype = body.type if body is not None else ""
    kind = "struct" if btype == "struct_type" else "interface" if btype == "interface_type" else "type"
    yield _Def(_text(name, src), kind, name)


def _go_const(node: Node, src: bytes) -> Iterable[_Def]:
    for name in node.children_by_field_name("name"):
        yield _Def(_text(name, src), "constant", name)


def _java_field(node: Node, src: bytes) -> Iterable[_Def]:
    mods = _child(node, 0)
    if mods is None or mods.type != "modifiers":
        return
    words = {c.type for c in mods.children}
    if "static" in words and "final" in words:
        yield from _java_constant(node, src)


def _java_constant(node: Node, src: bytes) -> Iterable[_Def]:
    for decl in node.children_by_field_name("declarator"):
        name = decl.child_by_field_name("name")
        if name is not None:
            yield _Def(_text(name, src), "constant", name)


_C_DECLARATOR_WRAPPERS = frozenset(
    {"pointer_declarator", "reference_declarator", "attributed_declarator", "type_qualifier"}
)
_C_NAME_NODES = frozenset(
    {"identifier", "field_identifier", "destructor_name", "operator_name", "template_function"}
)


def _c_function(node: Node, src: bytes) -> Iterable[_Def]:
    """Functions and prototypes: follow the declarator chain to the name."""
    d = node.child_by_field_name("declarator")
    is_function = False
    while d is not None:
        if d.type == "function_declarator":
            is_function = True
            d = d.child_by_field_name("declarator")
        elif d.type in _C_DECLARATOR_WRAPPERS and not is_function:
            # `int& f()` keeps its inner declarator in an unnamed child
            d = d.child_by_field_name("declarator") or _child(d, d.named_child_count - 1)
        else:
            break
    if not is_function or d is None:
        return
    owner = ""
    while d is not None and d.type == "qualified_identifier":
        scope = d.child_by_field_name("scope")
        owner = _clean_name(_text(scope, src)) if scope is not None else owner
        d = d.child_by_field_name("name")
    if d is None or d.type not in _C_NAME_NODES:
        return  # e.g. a function pointer variable `int (*fp)(int)`
    name = _text(d, src)
    if d.type == "template_function":
        inner = d.child_by_field_name("name")
        name = _text(inner, src) if inner is not None else _clean_name(name)
    if d.type == "destructor_name":  # `~Widget`: the class name inside is not a use
        name_node = _child(d, 0)
    else:
        name_node = d if d.type in ("identifier", "field_identifier") else None
    yield _Def(name, "method" if owner else "function", name_node, owner)


def _c_typedef(node: Node, src: bytes) -> Iterable[_Def]:
    d = node.child_by_field_name("declarator")
    while d is not None and d.type != "type_identifier":
        # `typedef int (*handler)(int);` wraps the name in parentheses
        d = d.child_by_field_name("declarator") or (
            _child(d, 0) if d.type == "parenthesized_declarator" else None
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
    yield _Def(_text(d, src), kind, d)


# ---------------------------------------------------------------------------
# per-language imports


def _py_imports(node: Node, src: bytes) -> list[Import]:
    line = node.start_point.row + 1
    names = []
    for n in node.children_by_field_name("name"):
        if n.type == "aliased_import":  # `x as y` imports x
            n = n.child_by_field_name("name") or n
        names.append(_squash(_text(n, src)))
    if node.type == "import_statement":
        return [Import(name, (), line) for name in names]
    module = node.child_by_field_name("module_name")
    if module is None:
        return []
    if not names and any(c.type == "wildcard_import" for c in node.children):
        names = ["*"]
    return [Import(_squash(_text(module, src)), tuple(names), line)]


def _js_imports(node: Node, src: bytes) -> list[Import]:
    line = node.start_point.row + 1
    if node.type == "call_expression":  # require("x") / import("x")
        args = node.child_by_field_name("arguments")
        spec = _string_value(_child(args, 0), src)
        return [Import(spec, (), line)] if spec else []
    spec = _string_value(node.child_by_field_name("source"), src)
    names: list[str] = []
    for child in node.named_children:
        if child.type == "import_require_clause":  # TypeScript `import fs = require("fs")`
            spec = _string_value(child.child_by_field_name("source"), src)
            names.extend(_text(c, src) for c in child.named_children if c.type == "identifier")
        elif child.type == "import_clause":
            for part in child.named_children:
                if part.type == "identifier":  # default import: its local name
                    names.append(_text(part, src))
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
                out.append(_clean_name(_text(name, src)))
    return out


def _rs_imports(node: Node, src: bytes) -> list[Import]:
    line = node.start_point.row + 1
    if node.type in ("mod_item", "extern_crate_declaration"):
        name = node.child_by_field_name("name")
        if name is None:
            return []
        prefix = "mod:" if node.type == "mod_item" else ""
        return [Import(prefix + _text(name, src), (), line)]
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
        module = join(prefix, _squash(_text(path, src)) if path is not None else "")
        groups.setdefault(module, [])
        if name is not None:
            groups[module].append(_text(name, src))
    elif t == "use_as_clause":
        path = node.child_by_field_name("path")
        if path is not None:
            _rs_use_tree(path, prefix, groups, src)
    elif t == "use_wildcard":
        path = _child(node, 0)
        module = join(prefix, _squash(_text(path, src)) if path is not None else "")
        groups.setdefault(module, []).append("*")
    elif t == "scoped_use_list":
        path = node.child_by_field_name("path")
        inner = join(prefix, _squash(_text(path, src)) if path is not None else "")
        items = node.child_by_field_name("list")
        if items is not None:
            _rs_use_tree(items, inner, groups, src)
    elif t == "use_list":
        for child in node.named_children:
            _rs_use_tree(child, prefix, groups, src)
    elif prefix:  # identifier / self / super / crate inside a list
        groups.setdefault(prefix, []).append(_text(node, src))
    else:  # `use foo;`
        groups.setdefault(_text(node, src), [])


def _go_imports(node: Node, src: bytes) -> list[Import]:
    out = []
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type == "import_spec":
            path = n.child_by_field_name("path")
            if path is not None:
                out.append(Import(_text(path, src)[1:-1], (), n.start_point.row + 1))
        else:
            stack.extend(n.named_children)
    return sorted(out, key=lambda i: i.line)


def _java_imports(node: Node, src: bytes) -> list[Import]:
    path = next((c for c in node.named_children if c.type in ("scoped_identifier", "identifier")), None)
    if path is None:
        return []
    line = node.start_point.row + 1
    dotted = _squash(_text(path, src))
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


def _c_imports(node: Node, src: bytes) -> list[Import]:
    path = node.child_by_field_name("path")
    if path is None or path.type != "string_literal":
        return []
    return [Import(_text(path, src)[1:-1], (), node.start_point.row + 1)]


def _go_package(node: Node, src: bytes) -> str:
    return _text(node, src)


def _java_package(node: Node, src: bytes) -> str:
    for child in node.named_children:
        if child.type in ("scoped_identifier", "identifier"):
            return _squash(_text(child, src))
    return ""


# ---------------------------------------------------------------------------
# language table

_PYTHON = _Spec(
    grammar=("tree_sitter_python", "language"),
    patterns=(
        "(identifier) @ref",
        "(keyword_argument name: (identifier) @skip)",
        # module paths and aliases in imports are not uses
        "(import_statement (dotted_name (identifier) @skip))",
        "(import_from_statement (dotted_name (identifier) @skip))",
        "(relative_import (dotted_name (identifier) @skip))",
        "(aliased_import (dotted_name (identifier) @skip))",
        "(aliased_import alias: (identifier) @skip)",
        "(future_import_statement (dotted_name (identifier) @skip))",
        "(function_definition) @def.function",
        "(class_definition) @def.class",
        "(type_alias_statement) @def.py_type",
        "(module (expression_statement (assignment left: (identifier))) @def.py_const)",
        "(import_statement) @imp",
        "(import_from_statement) @imp",
    ),
    defs={
        "function": "function",
        "class": "class",
        "py_type": _py_type_alias,
        "py_const": _py_constant,
    },
    imports=_py_imports,
    wrappers=frozenset({"decorated_definition"}),
    python_docstrings=True,
    stop_names=_PY_KEYWORDS,
)

_JS_COMMON = (
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
_JS_DEFS: dict[str, str | _Handler] = {
    "function": "function",
    "class": "class",
    "method": "method",
    "js_var": _js_variable,
    "js_field": _js_field_function,
    "js_assign": _js_assigned_function,
    "scope": "scope",
}
_JS_MULTI = {
    "lexical_declaration": frozenset({"variable_declarator"}),
    "variable_declaration": frozenset({"variable_declarator"}),
}
_JAVASCRIPT = _Spec(
    grammar=("tree_sitter_javascript", "language"),
    patterns=(
        *_JS_COMMON,
        "(field_definition property: (property_identifier) value: [(arrow_function) (function_expression)])"
        " @def.js_field",
    ),
    defs=_JS_DEFS,
    imports=_js_imports,
    wrappers=frozenset(
        {"export_statement", "lexical_declaration", "variable_declaration", "expression_statement"}
    ),
    multi=_JS_MULTI,
    refs_in_imports=True,
)
_TS_PATTERNS = (
    *_JS_COMMON,
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
_TS_DEFS: dict[str, str | _Handler] = {
    **_JS_DEFS,
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
_TYPESCRIPT = _Spec(
    grammar=("tree_sitter_typescript", "language_typescript"),
    patterns=_TS_PATTERNS,
    defs=_TS_DEFS,
    imports=_js_imports,
    wrappers=_TS_WRAPPERS,
    multi=_JS_MULTI,
    refs_in_imports=True,
)
_TSX = replace(_TYPESCRIPT, grammar=("tree_sitter_typescript", "language_tsx"))

_RUST = _Spec(
    grammar=("tree_sitter_rust", "language"),
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

_GO = _Spec(
    grammar=("tree_sitter_go", "language"),
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

_JAVA = _Spec(
    grammar=("tree_sitter_java", "language"),
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

_C_PATTERNS = (
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
_C_DEFS: dict[str, str | _Handler] = {
    "c_function": _c_function,
    "struct": "struct",
    "enum": "enum",
    "c_typedef": _c_typedef,
    "macro": "macro",
}
_C = _Spec(
    grammar=("tree_sitter_c", "language"),
    patterns=_C_PATTERNS,
    defs=_C_DEFS,
    imports=_c_imports,
    # a struct declared inside a typedef is documented above the typedef
    wrappers=frozenset({"type_definition"}),
)
_CPP = _Spec(
    grammar=("tree_sitter_cpp", "language"),
    patterns=(
        *_C_PATTERNS,
        "(namespace_identifier) @ref",
        "(class_specifier name: (_) body: (_)) @def.class",
        "(namespace_definition) @def.module",
        "(alias_declaration) @def.type",
        "(field_declaration declarator: (function_declarator)) @def.c_function",
        "(lambda_expression) @def.scope",
    ),
    defs={**_C_DEFS, "class": "class", "module": "module", "type": "type", "scope": "scope"},
    imports=_c_imports,
    wrappers=frozenset({"type_definition", "template_declaration"}),
    clean_names=True,
)

# ---------------------------------------------------------------------------
# Languages added with their own grammar wheels. Each block holds everything the
# parser knows of one language: handlers, imports, package and spec.


# -- Ruby


def _rb_type(node: Node, src: bytes) -> Iterable[_Def]:
    name = node.child_by_field_name("name")
    while name is not None and name.type == "scope_resolution":  # `class Admin::User`
        name = name.child_by_field_name("name")
    if name is not None:
        yield _Def(_text(name, src), "module" if node.type == "module" else "class", name)


def _rb_singleton_method(node: Node, src: bytes) -> Iterable[_Def]:
    # `def self.build` belongs to the enclosing class; `def Config.load` names its owner
    name = node.child_by_field_name("name")
    obj = node.child_by_field_name("object")
    if name is not None:
        owner = _text(obj, src) if obj is not None and obj.type == "constant" else ""
        yield _Def(_text(name, src), "method", name, owner)


def _rb_constant(node: Node, src: bytes) -> Iterable[_Def]:
    left = node.child_by_field_name("left")
    if left is not None and left.type == "constant":
        yield _Def(_text(left, src), "constant", left)


def _rb_attributes(node: Node, src: bytes) -> Iterable[_Def]:
    """`attr_accessor :name, :email` defines one property per symbol."""
    args = node.child_by_field_name("arguments")
    for arg in args.named_children if args is not None else ():
        if arg.type == "simple_symbol":
            yield _Def(_text(arg, src)[1:], "property", None)


def _rb_imports(node: Node, src: bytes) -> list[Import]:
    """`require "a/b"` (a load path), `require_relative "b"` (as "./b"), `autoload :B, "a/b"`."""
    method = node.child_by_field_name("method")
    args = node.child_by_field_name("arguments")
    strings = [c for c in args.named_children if c.type == "string"] if args is not None else []
    path = _plain_string(strings[-1], src) if strings else ""
    if method is None or not path:
        return []
    if _text(method, src) == "require_relative" and not path.startswith(("./", "../")):
        path = "./" + path
    return [Import(path, (), node.start_point.row + 1)]


_RUBY = _Spec(
    grammar=("tree_sitter_ruby", "language"),
    patterns=(
        "(identifier) @ref",
        "(constant) @ref",
        "(class) @def.rb_type",
        "(module) @def.rb_type",
        "(method) @def.function",
        "(singleton_method) @def.rb_singleton",
        "(assignment left: (constant)) @def.rb_const",
        "((call method: (identifier) @_rb_attr) @def.rb_attr"
        ' (#any-of? @_rb_attr "attr_reader" "attr_writer" "attr_accessor"))',
        "(lambda) @def.scope",
        "((call method: (identifier) @_rb_load arguments: (argument_list (string))) @imp"
        ' (#any-of? @_rb_load "require" "require_relative" "autoload"))',
    ),
    defs={
        "rb_type": _rb_type,
        "function": "function",
        "rb_singleton": _rb_singleton_method,
        "rb_const": _rb_constant,
        "rb_attr": _rb_attributes,
        "scope": "scope",
    },
    imports=_rb_imports,
    # a module's functions are methods too: it is mixed into classes
    class_like=_CLASS_LIKE | {"module"},
    hoist=frozenset({"body_statement"}),
    stop_names=_STOP_NAMES
    | {"new", "require", "require_relative", "attr_reader", "attr_writer", "attr_accessor", "private"},
)


# -- PHP


def _php_constants(node: Node, src: bytes) -> Iterable[_Def]:
    for element in node.named_children:
        name = _named_child(element, frozenset({"name"})) if element.type == "const_element" else None
        if name is not None:
            yield _Def(_text(name, src), "constant", name)


def _php_properties(node: Node, src: bytes) -> Iterable[_Def]:
    for element in node.named_children:
        if element.type != "property_element":
            continue
        var = element.child_by_field_name("name") or _child(element, 0)
        name = _child(var, 0) if var is not None and var.type == "variable_name" else None
        if name is not None:
            yield _Def(_text(name, src), "property", name)


_PHP_INCLUDES = frozenset(
    {"require_expression", "require_once_expression", "include_expression", "include_once_expression"}
)
_PHP_STRINGS = frozenset({"string", "encapsed_string"})


def _php_include_path(arg: Node | None, src: bytes) -> str:
    """`'x.php'`, `__DIR__ . '/x.php'` (as "./x.php"); "" when the path is computed."""
    while arg is not None and arg.type == "parenthesized_expression":
        arg = _child(arg, 0)
    if arg is None:
        return ""
    if arg.type in _PHP_STRINGS:
        return _plain_string(arg, src)
    left, right = arg.child_by_field_name("left"), arg.child_by_field_name("right")
    if (
        arg.type == "binary_expression"
        and left is not None
        and right is not None
        and right.type in _PHP_STRINGS
        and _squashed(left, src) in ("__DIR__", "dirname(__FILE__)")
    ):
        rest = _plain_string(right, src).lstrip("/")
        return "./" + rest if rest else ""
    return ""


def _php_imports(node: Node, src: bytes) -> list[Import]:
    """`use A\\B\\C;` and `use A\\{B, C}` as one import per class; `require` of a literal path."""
    line = node.start_point.row + 1
    if node.type in _PHP_INCLUDES:
        path = _php_include_path(_child(node, 0), src)
        return [Import(path, (), line)] if path else []
    prefix = ""
    clauses: list[Node] = []
    for child in node.named_children:
        if child.type == "namespace_name":
            prefix = _squashed(child, src) + "\\"
        elif child.type == "namespace_use_clause":
            clauses.append(child)
        elif child.type == "namespace_use_group":
            clauses.extend(c for c in child.named_children if c.type == "namespace_use_clause")
    out = []
    for clause in clauses:
        # the alias of `B as C` is a later `name`
        target = _named_child(clause, frozenset({"qualified_name", "name"}))
        if target is not None:
            full = (prefix + _squashed(target, src)).lstrip("\\")
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


_PHP = _Spec(
    grammar=("tree_sitter_php", "language_php"),
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
    package=_squashed,
    stop_names=_STOP_NAMES | {"parent", "static"},
)


# -- C#


def _cs_field(node: Node, src: bytes) -> Iterable[_Def]:
    """`const` and `static readonly` fields are constants; other fields are state, not API."""
    words = {_text(c, src) for c in node.named_children if c.type == "modifier"}
    if "const" not in words and not {"static", "readonly"} <= words:
        return
    decl = _named_child(node, frozenset({"variable_declaration"}))
    for d in decl.named_children if decl is not None else ():
        name = d.child_by_field_name("name") if d.type == "variable_declarator" else None
        if name is not None:
            yield _Def(_text(name, src), "constant", name)


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
    names = (_text(alias, src),) if alias is not None else ()
    return [Import(_squashed(target, src), names, node.start_point.row + 1)]


_CSHARP = _Spec(
    grammar=("tree_sitter_c_sharp", "language"),
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
    package=_squashed,
    xml_doc=True,
    stop_names=_STOP_NAMES | {"var", "nameof", "value"},
    refs_in_imports=True,
)


# -- Kotlin


def _kt_class(node: Node, src: bytes) -> Iterable[_Def]:
    name = node.child_by_field_name("name")
    if name is None:
        return
    kind = "class"
    for c in node.children:
        if c.type == "interface":
            kind = "interface"
        elif c.type == "modifiers" and any(
            m.type == "class_modifier" and _text(m, src) == "enum" for m in c.named_children
        ):
            kind = "enum"
    yield _Def(_text(name, src), kind, name)


def _kt_property(node: Node, src: bytes) -> Iterable[_Def]:
    name = _child(_named_child(node, frozenset({"variable_declaration"})), 0)
    if name is None or name.type != "identifier":
        return  # `val (a, b) = pair`
    mods = _named_child(node, frozenset({"modifiers"}))
    const = mods is not None and any(_text(m, src) == "const" for m in mods.named_children)
    yield _Def(_text(name, src), "constant" if const else "property", name)


def _kt_type_alias(node: Node, src: bytes) -> Iterable[_Def]:
    name = node.child_by_field_name("type")
    if name is not None:
        yield _Def(_text(name, src), "type", name)


def _kt_imports(node: Node, src: bytes) -> list[Import]:
    path = _named_child(node, frozenset({"qualified_identifier"}))
    if path is None:
        return []
    line = node.start_point.row + 1
    dotted = _squashed(path, src)
    if any(c.type == "*" for c in node.children):
        return [Import(dotted + ".*", ("*",), line)]
    return [Import(dotted, (dotted.rpartition(".")[2],), line)]


_KOTLIN = _Spec(
    grammar=("tree_sitter_kotlin", "language"),
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
    package=_squashed,
    comments=frozenset({"line_comment", "block_comment"}),
    bodies=frozenset({"class_body", "enum_class_body", "function_body"}),
    stop_names=_STOP_NAMES | {"it"},
    refs_in_imports=True,
)


# -- Swift

_SWIFT_KINDS = {
    "class": "class",
    "actor": "class",
    "struct": "struct",
    "enum": "enum",
    "extension": "extension",
}


def _swift_type(node: Node, src: bytes) -> Iterable[_Def]:
    keyword_node = node.child_by_field_name("declaration_kind")
    kind = _SWIFT_KINDS.get(_text(keyword_node, src) if keyword_node is not None else "", "class")
    name = node.child_by_field_name("name")
    if name is None:
        return
    if kind == "extension":
        # `extension Foo.Bar<T>` adds to a type defined elsewhere: its name is a use
        yield _Def(_text(name, src).split("<", 1)[0].rsplit(".", 1)[-1].strip(), kind, None)
    else:
        yield _Def(_text(name, src), kind, name)


def _swift_property(node: Node, src: bytes) -> Iterable[_Def]:
    for pattern in node.children_by_field_name("name"):
        ident = pattern.child_by_field_name("bound_identifier")
        if ident is not None:
            yield _Def(_text(ident, src), "property", ident)


def _swift_init(node: Node, src: bytes) -> Iterable[_Def]:
    yield _Def("init", "method", None)


def _swift_imports(node: Node, src: bytes) -> list[Import]:
    # `import Foundation.NSString` imports from the module Foundation
    path = _named_child(node, frozenset({"identifier"}))
    module = _child(path, 0)
    if module is None:
        return []
    return [Import(_text(module, src), (), node.start_point.row + 1)]


_SWIFTPM_TARGET = re.compile(
    rb'\.(target|executableTarget|testTarget|macro|plugin)\s*\(\s*name:\s*"([^"\\\n]+)"'
)
_SWIFTPM_PATH = re.compile(rb'\bpath:\s*"([^"\\\n]*)"')


def _swiftpm_targets(source: bytes) -> str:
    """Package.swift's targets as `name<TAB>directory` lines (SwiftPM's default when no `path:`)."""
    found = list(_SWIFTPM_TARGET.finditer(source))
    lines = []
    for i, m in enumerate(found):
        # a target's own arguments come before the next target; the bound keeps a stray
        # `path:` of a later dependency from being read as this target's
        end = min(found[i + 1].start() if i + 1 < len(found) else len(source), m.end() + 2000)
        path = _SWIFTPM_PATH.search(source, m.end(), end)
        name = m.group(2).decode("utf-8", "replace")
        default = ("Tests/" if m.group(1) == b"testTarget" else "Sources/") + name
        lines.append(f"{name}\t{path.group(1).decode('utf-8', 'replace') if path else default}")
    return "\n".join(lines)


_SWIFT = _Spec(
    grammar=("tree_sitter_swift", "language"),
    patterns=(
        "(simple_identifier) @ref",
        "(type_identifier) @ref",
        "(enum_entry name: (simple_identifier) @skip)",
        "(class_declaration) @def.swift_type",
        "(protocol_declaration) @def.protocol",
        "(function_declaration) @def.function",
        "(protocol_function_declaration) @def.method",
        "(init_declaration) @def.swift_init",
        "(property_declaration) @def.swift_property",
        "(protocol_property_declaration) @def.swift_property",
        "(typealias_declaration) @def.type",
        "(lambda_literal) @def.scope",
        "(import_declaration) @imp",
    ),
    defs={
        "swift_type": _swift_type,
        "protocol": "protocol",
        "function": "function",
        "method": "method",
        "swift_init": _swift_init,
        "swift_property": _swift_property,
        "type": "type",
        "scope": "scope",
    },
    imports=_swift_imports,
    comments=frozenset({"comment", "multiline_comment"}),
    refs_in_imports=True,
)


# -- Scala


def _scala_value(node: Node, src: bytes) -> Iterable[_Def]:
    name = node.child_by_field_name("pattern")
    if name is not None and name.type == "identifier":  # not `val (a, b) = ...`
        yield _Def(_text(name, src), "property", name)


def _scala_package(node: Node, src: bytes) -> str:
    """`package a.b` followed by `package c` is the package a.b.c."""
    parts = []
    clause: Node | None = node
    while clause is not None and clause.type == "package_clause":
        name = clause.child_by_field_name("name")
        if name is not None:
            parts.append(_squashed(name, src))
        clause = clause.next_named_sibling
    return ".".join(parts)


_SCALA_RENAMED = frozenset({"as_renamed_identifier", "arrow_renamed_identifier"})


def _scala_imports(node: Node, src: bytes) -> list[Import]:
    """`import a.b.C`, `import a.b._` / `a.b.*`, `import a.b.{C, D => E}`: one import per name."""
    line = node.start_point.row + 1
    path = ".".join(_text(c, src) for c in node.children_by_field_name("path") if c.is_named)
    if not path:
        return []
    out = []
    for child in node.named_children:
        selectors = child.named_children if child.type == "namespace_selectors" else [child]
        for sel in selectors:
            if sel.type == "namespace_wildcard":
                if _text(sel, src) in ("_", "*"):  # not `given`
                    out.append(Import(path + ".*", ("*",), line))
                continue
            if sel.type in _SCALA_RENAMED:
                sel = sel.child_by_field_name("name") or sel
            if sel.type == "identifier" and child.type != "identifier":
                name = _text(sel, src)
                out.append(Import(f"{path}.{name}", (name,), line))
    return out or [Import(path, (path.rpartition(".")[2],), line)]


_SCALA = _Spec(
    grammar=("tree_sitter_scala", "language"),
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

# Build manifests read for import resolution: file name -> what becomes the file's `package`.
MANIFESTS: dict[str, Callable[[bytes], str]] = {
    "composer.json": _composer_psr4,
    "Package.swift": _swiftpm_targets,
}


_SPECS: dict[str, _Spec] = {
    "python": _PYTHON,
    "javascript": _JAVASCRIPT,
    "typescript": _TYPESCRIPT,
    "tsx": _TSX,
    "rust": _RUST,
    "go": _GO,
    "java": _JAVA,
    "c": _C,
    "cpp": _CPP,
    "ruby": _RUBY,
    "php": _PHP,
    "csharp": _CSHARP,
    "kotlin": _KOTLIN,
    "swift": _SWIFT,
    "scala": _SCALA,
}
LANGUAGES = frozenset(_SPECS)

_COMPILED: dict[str, _Compiled | None] = {}


def _compile(language: str) -> _Compiled | None:
    if language in _COMPILED:
        return _COMPILED[language]
    compiled = None
    spec = _SPECS.get(language)
    if spec is not None:
        try:
            module, func = spec.grammar
            lang = Language(getattr(importlib.import_module(module), func)())
            compiled = _Compiled(Parser(lang), _build_query(lang, spec.patterns, language), spec)
        except Exception:
            log.debug("no tree-sitter support for %s", language, exc_info=True)
    _COMPILED[language] = compiled
    return compiled


def _build_query(lang: Language, patterns: tuple[str, ...], language: str) -> Query:
    try:
        return Query(lang, "\n".join(patterns))
    except Exception:
        # A grammar release renamed a node type: keep every pattern that still compiles.
        kept = []
        for p in patterns:
            try:
                Query(lang, p)
                kept.append(p)
            except Exception:
                log.debug("%s: dropping query pattern %s", language, p)
        return Query(lang, "\n".join(kept))


# ---------------------------------------------------------------------------
# extraction


def extract(rel_path: str, language: str, source: bytes) -> FileFacts:
    """Symbols, references, imports and package of one file. Never raises."""
    acc = _Acc()
    try:
        compiled = _compile(language)
        if compiled is not None and source:
            _extract(compiled, source, acc)
        manifest = MANIFESTS.get(rel_path.rpartition("/")[2])
        if manifest is not None:
            acc.package = manifest(source)
    except Exception:
        log.debug("extract failed for %s (%s)", rel_path, language, exc_info=True)
    return acc.facts()


@dataclass(slots=True)
class _File:
    """Per-file state shared by the extraction phases."""

    spec: _Spec
    src: bytes
    acc: _Acc
    # Start bytes of identifiers that are not uses: definition names, keyword
    # argument names, the names spelled out in imports and package clauses.
    skip: set[int]


def _extract(compiled: _Compiled, src: bytes, acc: _Acc) -> None:
    spec = compiled.spec
    with compiled.lock:
        tree = compiled.parser.parse(src)
    captures = QueryCursor(compiled.query).captures(tree.root_node)
    f = _File(spec, src, acc, skip={n.start_byte for n in captures.get("skip", ())})

    # Each phase is guarded on its own: a surprise in one construct costs that
    # phase's remaining results, not the whole file.
    try:
        for node in sorted(captures.get("pkg", ()), key=lambda n: n.start_byte):
            if spec.package is not None and not acc.package:
                acc.package = spec.package(node, src)
            if spec.refs_in_imports:
                _skip_refs(compiled, node, f.skip)
        for node in sorted(captures.get("imp", ()), key=lambda n: n.start_byte):
            acc.imports.extend(spec.imports(node, src))
            if spec.refs_in_imports:
                _skip_refs(compiled, node, f.skip)
    except Exception:
        log.debug("imports failed", exc_info=True)
    try:
        _definitions(f, captures)
    except Exception:
        log.debug("definitions failed", exc_info=True)
    _references(f, captures.get("ref", ()))


def _skip_refs(compiled: _Compiled, node: Node, skip: set[int]) -> None:
    for n in QueryCursor(compiled.query).captures(node).get("ref", ()):
        skip.add(n.start_byte)


def _definitions(f: _File, captures: dict[str, list[Node]]) -> None:
    spec, src, skip = f.spec, f.src, f.skip
    found: list[tuple[int, int, int, Node, str | _Handler]] = []
    for cap, nodes in captures.items():
        how = spec.defs.get(cap[4:]) if cap.startswith("def.") else None
        if how is not None:
            for n in nodes:
                start, end = n.byte_range
                # the index only breaks ties, so that nodes are never compared
                found.append((start, -end, len(found), n, how))
    found.sort()

    # Containment is decided with a stack over definitions in document order
    # rather than by walking each definition's ancestors.
    # A frame is (end byte, role for what is inside, name); the bottom one is the file.
    stack: list[tuple[float, int, str]] = [(float("inf"), _MODULE, "")]
    for start, neg_end, _, node, how in found:
        while stack[-1][0] <= start:
            stack.pop()
        _, role, owner = stack[-1]
        if how == "scope":
            stack.append((-neg_end, _OPAQUE, ""))
            continue
        if isinstance(how, str):
            name = node.child_by_field_name("name")
            text = "" if name is None else _text(name, src)
            defs = [_Def(_clean_name(text) if spec.clean_names else text, how, name)] if text else []
        else:
            defs = list(how(node, src))
        emitted = owner_name = ""
        for d in defs:
            if d.name_node is not None:
                skip.add(d.name_node.start_byte)
            if role == _OPAQUE:
                continue  # local to a function body
            kind, parent = d.kind, d.parent or owner
            if role == _MEMBER and kind == "function":
                kind = "method"
            if kind == "method" and not parent:
                continue  # an object-literal method, not part of a type
            if not emitted:
                emitted, owner_name = kind, d.name
            f.acc.symbols.append(_symbol(f, node, d.name, kind, parent))
        if emitted in spec.class_like:
            stack.append((-neg_end, _MEMBER, owner_name))
        elif emitted == "module":
            stack.append((-neg_end, _MODULE, owner_name))
        elif emitted == "type" or (how == "module" and not defs):
            # a typedef around a struct, an anonymous namespace: not a container
            stack.append((-neg_end, role, owner))
        else:
            stack.append((-neg_end, _OPAQUE, ""))


def _outer(spec: _Spec, node: Node) -> Node:
    """The node that carries the definition's decorators, `export`, template header."""
    while True:
        parent = node.parent
        if parent is None or parent.type not in spec.wrappers:
            return node
        counted = spec.multi.get(parent.type)
        if counted and sum(1 for c in parent.named_children if c.type in counted) > 1:
            return node
        node = parent


_PY_DOCUMENTED = frozenset({"function", "method", "class"})


def _symbol(f: _File, node: Node, name: str, kind: str, parent: str) -> Symbol:
    spec, src = f.spec, f.src
    outer = _outer(spec, node) if spec.wrappers else node
    body = node.child_by_field_name("body")
    if body is None and spec.bodies:
        body = _named_child(node, spec.bodies)
    header_end = body.start_byte if body is not None else -1
    if spec.python_docstrings:
        doc = _docstring(body, src) if kind in _PY_DOCUMENTED and body is not None else ""
        header_start = node.start_byte  # the `def` line, not the first decorator
        if body is not None and src.find(b"#", header_start, header_end) >= 0:
            # `def f():  # comment` keeps the comment between the colon and the body
            before = body.prev_sibling
            while before is not None and before.type == "comment":
                header_end = before.start_byte
                before = before.prev_sibling
    else:
        doc = _leading_comment(spec, outer, src)
        header_start = _header_start(outer)
    return Symbol(
        name=name,
        kind=kind,
        start_line=outer.start_point[0] + 1,
        end_line=_last_row(outer) + 1,
        signature=_signature(src, header_start, header_end, outer.end_byte, spec.python_docstrings),
        doc=doc,
        parent=parent,
    )


_SIG_SKIP = frozenset(
    {
        "decorator",
        "marker_annotation",
        "annotation",
        "attribute",  # Swift `@objc`
        "attribute_list",  # C# `[Obsolete]`, PHP `#[Pure]`
        "comment",
        "line_comment",
        "block_comment",
    }
)


def _header_start(node: Node) -> int:
    """Where the definition's own text begins, after decorators and annotations."""
    for child in node.children:
        if child.type in _SIG_SKIP:
            continue
        if child.type == "modifiers":  # Java annotations live among the modifiers
            inner = next((m for m in child.children if m.type not in _SIG_SKIP), None)
            if inner is None:
                continue
            return inner.start_byte
        return child.start_byte
    return node.start_byte


def _signature(src: bytes, start: int, body: int, end: int, python: bool) -> str:
    """The definition's header, up to its body (`body` is where that starts, -1 if none)."""
    header = b""
    # the whole header up to `:` / `{`, even when the parameters span lines
    if start < body <= start + _HEADER_BYTES and (python or src[body : body + 1] == b"{"):
        header = src[start:body]
    if not header:
        limit = min(end, start + _HEADER_BYTES)
        stop = src.find(b"\n", start, limit)
        header = src[start : stop if stop >= 0 else limit]
    text = " ".join(header.decode("utf-8", "replace").split())
    if b"\n" in header:  # parameters laid out one per line
        text = text.replace("( ", "(").replace(" )", ")").replace(",)", ")")
    if not python:
        text = text.rstrip("{").rstrip()
    return text[:MAX_SIGNATURE]


def _docstring(body: Node, src: bytes) -> str:
    first = _child(body, 0)
    if first is None or first.type != "expression_statement":
        return ""
    string = _child(first, 0)
    if string is None or string.type != "string":
        return ""
    # the first non-blank line is all that is kept: no need to decode a long docstring
    raw = src[string.start_byte : min(string.end_byte, string.start_byte + 1024)].decode("utf-8", "replace")
    raw = raw.lstrip("rRbBuUfF")
    quote = raw[:3] if raw[:3] in ('"""', "'''") else raw[:1]
    raw = raw[len(quote) :]
    if raw.endswith(quote):
        raw = raw[: -len(quote)]
    return raw.lstrip().partition("\n")[0].strip()[:MAX_DOC]


def _leading_comment(spec: _Spec, outer: Node, src: bytes) -> str:
    """First meaningful line of the comment block directly above a definition."""
    row = outer.start_point[0]
    run: list[Node] = []
    prev = outer.prev_sibling
    if prev is None and outer.parent is not None and outer.parent.type in spec.hoist:
        prev = outer.parent.prev_sibling
    while prev is not None:
        if prev.type in spec.between:
            row = prev.start_point[0]
            prev = prev.prev_sibling
            continue
        if prev.type not in spec.comments:
            break
        gap = row - 1 - _last_row(prev)
        if gap > 0:
            # JSDoc / Javadoc blocks are sometimes kept one blank line away; a
            # file's first comment is more likely a licence header than a doc
            if not run and gap == 1 and prev.start_point[0] > 0 and src.startswith(b"/**", prev.start_byte):
                run.append(prev)
            break
        before = prev.prev_sibling
        if (
            before is not None
            and before.type not in spec.comments
            and _last_row(before) == prev.start_point[0]
        ):
            break  # a trailing comment of the previous statement
        run.append(prev)
        row = prev.start_point[0]
        prev = before
    for comment in reversed(run):
        for line in _text(comment, src).splitlines():
            line = _strip_comment_marker(line)
            if spec.xml_doc:
                line = _XML_TAG.sub("", line).strip()
            if any(ch.isalnum() for ch in line):
                return line[:MAX_DOC]
    return ""


_XML_TAG = re.compile(r"<[^>]*>")
_COMMENT_OPENERS = ("/**", "/*!", "/*", "///", "//!", "//", "*", "#")


def _strip_comment_marker(line: str) -> str:
    line = line.strip()
    for opener in _COMMENT_OPENERS:
        if line.startswith(opener):
            line = line[len(opener) :]
            break
    if line.endswith("*/"):
        line = line[:-2]
    return line.strip()


def _references(f: _File, nodes: Iterable[Node]) -> None:
    src, skip, stop = f.src, f.skip, f.spec.stop_names
    # The hot loop: one iteration per identifier in the file, kept minimal.
    where: dict[bytes, list[int]] = {}
    get = where.get
    for n in nodes:
        start, end = n.start_byte, n.end_byte
        # one-letter names (`i`, `x`) are common and never kept: drop them first
        if end - start < 2 or start in skip:
            continue
        key = src[start:end]
        rows = get(key)
        if rows is None:
            where[key] = [n.start_point.row]
        else:
            rows.append(n.start_point.row)

    refs, ref_lines = f.acc.refs, f.acc.ref_lines
    for key, rows in sorted(where.items()):
        name = key.decode("utf-8", "replace")
        if len(name) < 2 or name in stop:
            continue
        lines: tuple[int, ...]
        if len(rows) == 1:
            lines = (rows[0] + 1,)
        else:
            rows.sort()  # captures do not come in document order
            lines = tuple([r + 1 for r in islice(dict.fromkeys(rows), MAX_REF_LINES)])
        if name in refs:  # two invalid byte sequences that decode alike
            lines = tuple(sorted(set(lines).union(ref_lines[name]))[:MAX_REF_LINES])
            refs[name] += len(rows)
        else:
            refs[name] = len(rows)
        ref_lines[name] = lines
