"""Python: functions, classes, module constants and type aliases; docstrings; `import` and `from ... import`."""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from rtk_lsp.index.parse.spec import STOP_NAMES, Def, Spec, node_text, nth_child, squash
from rtk_lsp.model import Import

if TYPE_CHECKING:
    from tree_sitter import Node


def _grammar() -> object:
    import tree_sitter_python

    return tree_sitter_python.language()


_PY_KEYWORDS = frozenset(keyword.kwlist) | STOP_NAMES


_PY_CONSTANT = re.compile(r"_*[A-Z][A-Z0-9_]*")


def _py_constant(node: Node, src: bytes) -> Iterable[Def]:
    assign = nth_child(node, 0)
    left = assign.child_by_field_name("left") if assign is not None else None
    if left is not None and left.type == "identifier":
        name = node_text(left, src)
        if _PY_CONSTANT.fullmatch(name):
            yield Def(name, "constant", left)


def _py_type_alias(node: Node, src: bytes) -> Iterable[Def]:
    left = node.child_by_field_name("left")
    while left is not None and left.type in ("type", "generic_type"):
        left = nth_child(left, 0)
    if left is not None and left.type == "identifier":
        yield Def(node_text(left, src), "type", left)


def _py_imports(node: Node, src: bytes) -> list[Import]:
    line = node.start_point.row + 1
    names = []
    for n in node.children_by_field_name("name"):
        if n.type == "aliased_import":  # `x as y` imports x
            n = n.child_by_field_name("name") or n
        names.append(squash(node_text(n, src)))
    if node.type == "import_statement":
        return [Import(name, (), line) for name in names]
    module = node.child_by_field_name("module_name")
    if module is None:
        return []
    if not names and any(c.type == "wildcard_import" for c in node.children):
        names = ["*"]
    return [Import(squash(node_text(module, src)), tuple(names), line)]


PYTHON = Spec(
    name="python",
    extensions=(".py", ".pyi", ".pyw"),
    grammar=_grammar,
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


SPECS = (PYTHON,)
