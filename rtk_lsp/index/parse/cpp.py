"""C++: C's tables plus classes, namespaces, aliases, member functions and lambdas."""

from __future__ import annotations

from rtk_lsp.index.parse import c
from rtk_lsp.index.parse.spec import Spec


def _grammar() -> object:
    import tree_sitter_cpp

    return tree_sitter_cpp.language()


CPP = Spec(
    name="cpp",
    extensions=(".cc", ".cpp", ".cxx", ".c++", ".hh", ".hpp", ".hxx", ".ipp"),
    grammar=_grammar,
    patterns=(
        *c.PATTERNS,
        "(namespace_identifier) @ref",
        "(class_specifier name: (_) body: (_)) @def.class",
        "(namespace_definition) @def.module",
        "(alias_declaration) @def.type",
        "(field_declaration declarator: (function_declarator)) @def.c_function",
        "(lambda_expression) @def.scope",
    ),
    defs={**c.DEFS, "class": "class", "module": "module", "type": "type", "scope": "scope"},
    imports=c.C.imports,
    wrappers=frozenset({"type_definition", "template_declaration"}),
    clean_names=True,
)


SPECS = (CPP,)
