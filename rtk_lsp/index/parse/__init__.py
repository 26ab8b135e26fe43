"""Which languages are parsed, and with what: the registry of per-language modules.

Each module of this package describes one language (or a family: TypeScript and TSX)
as data where it can: its file extensions, the tree-sitter query patterns, the table of
node types that are definitions, and the few handlers where a node's `name` field is
not enough. `extract.py` runs the one extraction loop over them.

Adding a language: a module declaring `SPECS` (see `spec.Spec` and `go.py` for a small
one) and its line in `REGISTRY`. Nothing here loads tree-sitter: the registry is read by
language detection, which the pure side uses too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from rtk_lsp.index.parse import (
    c,
    cpp,
    csharp,
    go,
    java,
    javascript,
    kotlin,
    php,
    python,
    ruby,
    rust,
    scala,
    swift,
    typescript,
)
from rtk_lsp.index.parse.spec import Spec

__all__ = ["LANGUAGES", "MANIFESTS", "SPECS", "Spec"]

REGISTRY = (
    python,
    javascript,
    typescript,
    rust,
    go,
    java,
    c,
    cpp,
    ruby,
    php,
    csharp,
    kotlin,
    swift,
    scala,
)

SPECS: Mapping[str, Spec] = {spec.name: spec for module in REGISTRY for spec in module.SPECS}
LANGUAGES = frozenset(SPECS)
# Build manifests read for import resolution: file name -> what becomes the file's `package`.
MANIFESTS: Mapping[str, Callable[[bytes], str]] = {
    name: read for spec in SPECS.values() for name, read in spec.manifests.items()
}
