"""Swift: `import Module` means the files of a SwiftPM target (as Package.swift declares, or Sources/<Target>/) named after the types used."""

from __future__ import annotations

import posixpath

from rtk_lsp.index.resolve.common import Files, LanguageResolver, Uses, join, parent
from rtk_lsp.model import Import


class SwiftImports(LanguageResolver):
    """`import Module`: the files of a SwiftPM target, as Package.swift declares or `Sources/<Target>/`."""

    languages = frozenset({"swift"})
    CONVENTION_DIRS = frozenset({"Sources", "Tests"})

    def __init__(self, files: Files) -> None:
        super().__init__(files)
        self.sources: list[str] = []
        self.target_dirs: dict[str, str] = {}  # directory -> target declared in a manifest
        self.modules: dict[str, list[str]] = {}

    def add(self, path: str, language: str, package: str) -> None:
        if posixpath.basename(path) == "Package.swift":
            for line in package.splitlines():
                name, _, directory = line.partition("\t")
                target = posixpath.normpath(join(parent(path), directory))
                self.target_dirs["" if target == "." else target] = name
        else:
            self.sources.append(path)

    def finish(self) -> None:
        for path in self.sources:
            module = self._module_of(path)
            if module:
                self.modules.setdefault(module, []).append(path)

    def _module_of(self, path: str) -> str:
        directory = parent(path)
        while True:
            if directory in self.target_dirs:
                return self.target_dirs[directory]
            if not directory:
                break
            directory = parent(directory)
        parts = path.split("/")
        for i in range(len(parts) - 2):
            if parts[i] in self.CONVENTION_DIRS:
                return parts[i + 1]
        return ""

    def resolve(self, importer: str, imp: Import, uses: Uses) -> set[str]:
        return uses.named_after(self.modules.get(imp.module, ()))


RESOLVERS = (SwiftImports,)
