"""Ruby: classes, modules, methods (singleton ones too), constants and `attr_*` properties; `require`, `require_relative` and `autoload`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from rtk_lsp.index.parse.spec import CLASS_LIKE, STOP_NAMES, Def, Spec, node_text, plain_string
from rtk_lsp.model import Import

if TYPE_CHECKING:
    from tree_sitter import Node


def _grammar() -> object:
    import tree_sitter_ruby

    return tree_sitter_ruby.language()


def _rb_type(node: Node, src: bytes) -> Iterable[Def]:
    name = node.child_by_field_name("name")
    while name is not None and name.type == "scope_resolution":  # `class Admin::User`
        name = name.child_by_field_name("name")
    if name is not None:
        yield Def(node_text(name, src), "module" if node.type == "module" else "class", name)


def _rb_singleton_method(node: Node, src: bytes) -> Iterable[Def]:
    # `def self.build` belongs to the enclosing class; `def Config.load` names its owner
    name = node.child_by_field_name("name")
    obj = node.child_by_field_name("object")
    if name is not None:
        owner = node_text(obj, src) if obj is not None and obj.type == "constant" else ""
        yield Def(node_text(name, src), "method", name, owner)


def _rb_constant(node: Node, src: bytes) -> Iterable[Def]:
    left = node.child_by_field_name("left")
    if left is not None and left.type == "constant":
        yield Def(node_text(left, src), "constant", left)


def _rb_attributes(node: Node, src: bytes) -> Iterable[Def]:
    """`attr_accessor :name, :email` defines one property per symbol."""
    args = node.child_by_field_name("arguments")
    for arg in args.named_children if args is not None else ():
        if arg.type == "simple_symbol":
            yield Def(node_text(arg, src)[1:], "property", None)


def _rb_imports(node: Node, src: bytes) -> list[Import]:
    """`require "a/b"` (a load path), `require_relative "b"` (as "./b"), `autoload :B, "a/b"`."""
    method = node.child_by_field_name("method")
    args = node.child_by_field_name("arguments")
    strings = [c for c in args.named_children if c.type == "string"] if args is not None else []
    path = plain_string(strings[-1], src) if strings else ""
    if method is None or not path:
        return []
    if node_text(method, src) == "require_relative" and not path.startswith(("./", "../")):
        path = "./" + path
    return [Import(path, (), node.start_point.row + 1)]


RUBY = Spec(
    name="ruby",
    extensions=(".rb",),
    grammar=_grammar,
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
    class_like=CLASS_LIKE | {"module"},
    hoist=frozenset({"body_statement"}),
    stop_names=STOP_NAMES
    | {"new", "require", "require_relative", "attr_reader", "attr_writer", "attr_accessor", "private"},
)


SPECS = (RUBY,)
