"""Swift: classes, structs, enums, protocols, extensions, functions and properties; module imports; Package.swift's targets."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from rtk_lsp.index.parse.spec import Def, Spec, named_child, node_text, nth_child
from rtk_lsp.model import Import

if TYPE_CHECKING:
    from tree_sitter import Node


def _grammar() -> object:
    import tree_sitter_swift

    return tree_sitter_swift.language()


_SWIFT_KINDS = {
    "class": "class",
    "actor": "class",
    "struct": "struct",
    "enum": "enum",
    "extension": "extension",
}


def _swift_type(node: Node, src: bytes) -> Iterable[Def]:
    keyword_node = node.child_by_field_name("declaration_kind")
    kind = _SWIFT_KINDS.get(node_text(keyword_node, src) if keyword_node is not None else "", "class")
    name = node.child_by_field_name("name")
    if name is None:
        return
    if kind == "extension":
        # `extension Foo.Bar<T>` adds to a type defined elsewhere: its name is a use
        yield Def(node_text(name, src).split("<", 1)[0].rsplit(".", 1)[-1].strip(), kind, None)
    else:
        yield Def(node_text(name, src), kind, name)


def _swift_property(node: Node, src: bytes) -> Iterable[Def]:
    for pattern in node.children_by_field_name("name"):
        ident = pattern.child_by_field_name("bound_identifier")
        if ident is not None:
            yield Def(node_text(ident, src), "property", ident)


def _swift_init(node: Node, src: bytes) -> Iterable[Def]:
    yield Def("init", "method", None)


def _swift_imports(node: Node, src: bytes) -> list[Import]:
    # `import Foundation.NSString` imports from the module Foundation
    path = named_child(node, frozenset({"identifier"}))
    module = nth_child(path, 0)
    if module is None:
        return []
    return [Import(node_text(module, src), (), node.start_point.row + 1)]


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


SWIFT = Spec(
    name="swift",
    extensions=(".swift",),
    grammar=_grammar,
    manifests={"Package.swift": _swiftpm_targets},
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


SPECS = (SWIFT,)
