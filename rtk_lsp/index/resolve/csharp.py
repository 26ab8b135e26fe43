"""C#: `using` a namespace means the files of it named after the types used; `using static` and aliases name a type."""

from __future__ import annotations

from rtk_lsp.index.resolve.common import Files, LanguageResolver, Uses, type_files
from rtk_lsp.model import Import


class CSharpImports(LanguageResolver):
    """`using` a namespace: the files declaring it; `using static` / an alias: the type's file."""

    languages = frozenset({"csharp"})

    def __init__(self, files: Files) -> None:
        super().__init__(files)
        self.namespaces: dict[str, list[str]] = {}

    def add(self, path: str, language: str, package: str) -> None:
        if package:
            self.namespaces.setdefault(package, []).append(path)

    def resolve(self, importer: str, imp: Import, uses: Uses) -> set[str]:
        files = self.namespaces.get(imp.module)
        if files:
            return uses.named_after(files)
        # a type, perhaps nested (`using static A.B.Outer.Inner`): drop names until one is found
        parts = imp.module.split(".")
        while len(parts) >= 2:
            found = type_files(self.namespaces.get(".".join(parts[:-1]), ()), parts[-1], uses)
            if found:
                return found
            parts = parts[:-1]
        return set()


RESOLVERS = (CSharpImports,)
