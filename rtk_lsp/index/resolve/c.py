"""C and C++: quoted includes, beside the including file first, else the nearest file of that name."""

from __future__ import annotations

import posixpath

from rtk_lsp.index.resolve.common import Files, LanguageResolver, Uses, closest, join, parent
from rtk_lsp.model import Import


class CIncludes(LanguageResolver):
    languages = frozenset({"c", "cpp"})

    def __init__(self, files: Files) -> None:
        super().__init__(files)
        self._by_name: dict[str, list[str]] = {}  # file name -> paths

    def add(self, path: str, language: str, package: str) -> None:
        self._by_name.setdefault(posixpath.basename(path), []).append(path)

    def resolve(self, importer: str, imp: Import, uses: Uses) -> set[str]:
        include = imp.module
        beside = posixpath.normpath(join(parent(importer), include))
        if beside in self.files.paths:
            return {beside}
        include = posixpath.normpath(include).lstrip("/")
        if include.startswith("../"):
            include = include.rsplit("../", 1)[-1]
        candidates = [
            p
            for p in self._by_name.get(posixpath.basename(include), ())
            if p == include or p.endswith("/" + include)
        ]
        best = closest(candidates, importer)
        return {best} if best is not None else set()


RESOLVERS = (CIncludes,)
