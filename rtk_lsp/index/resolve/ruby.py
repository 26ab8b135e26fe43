"""Ruby: `require_relative` beside the file, `require` against the load paths lib/, test/, spec/."""

from __future__ import annotations

from rtk_lsp.index.resolve.common import Files, LanguageResolver, Uses, closest, file_at, join, parent
from rtk_lsp.model import Import


class RubyImports(LanguageResolver):
    """`require_relative` beside the file; `require` against the load paths lib/, test/, spec/."""

    languages = frozenset({"ruby"})
    LOAD_DIRS = frozenset({"lib", "test", "spec"})

    def __init__(self, files: Files) -> None:
        super().__init__(files)
        self.paths = files.paths
        # path below a load directory, without .rb -> files
        self.loadable: dict[str, list[str]] = {}

    def add(self, path: str, language: str, package: str) -> None:
        if not path.endswith(".rb"):
            return
        parts = path[: -len(".rb")].split("/")
        for i, part in enumerate(parts[:-1]):
            if part in self.LOAD_DIRS:
                self.loadable.setdefault("/".join(parts[i + 1 :]), []).append(path)

    def resolve(self, importer: str, imp: Import, uses: Uses) -> set[str]:
        module = imp.module
        if module.startswith(("./", "../")):
            base = join(parent(importer), module)
            return file_at(self.paths, base + ".rb", base)
        key = module[: -len(".rb")] if module.endswith(".rb") else module
        # several gems of a monorepo may each have lib/: the nearest one
        best = closest(self.loadable.get(key, ()), importer)
        return {best} if best is not None else set()


RESOLVERS = (RubyImports,)
