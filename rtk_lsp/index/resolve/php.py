"""PHP: `use` by composer.json's PSR-4 map, else by namespace and file name; literal `require`s."""

from __future__ import annotations

import posixpath

from rtk_lsp.index.resolve.common import Files, LanguageResolver, Uses, closest, file_at, join, parent
from rtk_lsp.model import Import


class PhpImports(LanguageResolver):
    """`use` by composer.json's PSR-4 map, else by the class's namespace and file name."""

    languages = frozenset({"php"})
    reads = frozenset({"php", "json"})  # composer.json holds the PSR-4 map

    def __init__(self, files: Files) -> None:
        super().__init__(files)
        self.paths = files.paths
        self.psr4: list[tuple[str, str]] = []  # (namespace prefix, directory)
        self.declared: dict[tuple[str, str], list[str]] = {}  # (namespace, class) -> files
        self.in_namespace: dict[str, list[str]] = {}

    def add(self, path: str, language: str, package: str) -> None:
        if language == "json":
            if posixpath.basename(path) == "composer.json":
                for line in package.splitlines():
                    prefix, _, directory = line.partition("\t")
                    target = posixpath.normpath(join(parent(path), directory))
                    self.psr4.append((prefix.strip("\\"), "" if target == "." else target))
        elif path.endswith(".php"):
            self.declared.setdefault((package, posixpath.basename(path)[: -len(".php")]), []).append(path)
            self.in_namespace.setdefault(package, []).append(path)

    def finish(self) -> None:
        self.psr4.sort(key=lambda entry: (-len(entry[0]), entry))  # the most specific prefix first

    def resolve(self, importer: str, imp: Import, uses: Uses) -> set[str]:
        module = imp.module
        if module.endswith(".php") or "/" in module:  # `require`: beside the file, else from the root
            return file_at(self.paths, join(parent(importer), module), module)
        name = module.strip("\\")
        for prefix, directory in self.psr4:
            if not prefix or name.startswith(prefix + "\\"):
                rest = name[len(prefix) + 1 :] if prefix else name
                found = file_at(self.paths, join(directory, rest.replace("\\", "/") + ".php"))
                if found:
                    return found
        namespace, _, cls = name.rpartition("\\")
        best = closest(self.declared.get((namespace, cls), ()), importer)
        if best is None:  # a file holding several classes, or a function
            best = closest(uses.defining(cls, self.in_namespace.get(namespace, ())), importer)
        return {best} if best is not None else set()


RESOLVERS = (PhpImports,)
