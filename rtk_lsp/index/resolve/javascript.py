"""JavaScript and TypeScript: relative specifiers, with extensions and index files tried in turn."""

from __future__ import annotations

import posixpath

from rtk_lsp.index.resolve.common import LanguageResolver, Uses, join, parent
from rtk_lsp.model import Import

_EXTENSIONS = (".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".d.ts", ".mts", ".cts")
# TypeScript ESM code imports "./x.js" meaning the source file "./x.ts".
_JS_TO_TS = {".js": (".ts", ".tsx"), ".jsx": (".tsx",), ".mjs": (".mts",), ".cjs": (".cts",)}


class JavaScriptImports(LanguageResolver):
    languages = frozenset({"javascript", "typescript", "tsx"})

    def resolve(self, importer: str, imp: Import, uses: Uses) -> set[str]:
        spec = imp.module
        if not spec.startswith(("./", "../")) and spec not in (".", ".."):
            return set()  # a package name (tsconfig paths are not followed)
        spec = spec.split("?", 1)[0].split("#", 1)[0]
        base = posixpath.normpath(join(parent(importer), spec))
        if base == ".." or base.startswith("../"):
            return set()
        if base == ".":
            base = ""
        candidates = [base] if base else []
        stem, ext = posixpath.splitext(base)
        candidates += [stem + alt for alt in _JS_TO_TS.get(ext, ())]
        candidates += [base + e for e in _EXTENSIONS]
        candidates += [join(base, "index" + e) for e in _EXTENSIONS]
        for candidate in candidates:
            if candidate in self.files.paths:
                return {candidate}
        return set()


RESOLVERS = (JavaScriptImports,)
