"""Java: classes by declared package and name (else by directory layout), `a.b.*` by package."""

from __future__ import annotations

import posixpath

from rtk_lsp.index.resolve.common import MAX_PACKAGE_FILES, Files, LanguageResolver, Uses
from rtk_lsp.model import Import


class JavaImports(LanguageResolver):
    languages = frozenset({"java"})

    def __init__(self, files: Files) -> None:
        super().__init__(files)
        # fully qualified class -> files; package -> files; class name -> files
        self._classes: dict[str, list[str]] = {}
        self._packages: dict[str, list[str]] = {}
        self._by_name: dict[str, list[str]] = {}
        # last directory name -> directory -> files in it
        self._dirs: dict[str, dict[str, list[str]]] = {}

    def add(self, path: str, language: str, package: str) -> None:
        if not path.endswith(".java"):
            return
        directory, name = posixpath.split(path[: -len(".java")])
        self._by_name.setdefault(name, []).append(path)
        by_dir = self._dirs.setdefault(posixpath.basename(directory), {})
        by_dir.setdefault(directory, []).append(path)
        if package:
            self._classes.setdefault(f"{package}.{name}", []).append(path)
            self._packages.setdefault(package, []).append(path)

    def resolve(self, importer: str, imp: Import, uses: Uses) -> set[str]:
        module = imp.module
        if module.endswith(".*"):
            return self._package(module[:-2])
        parts = module.split(".")
        # `a.b.Outer.Inner` and static members: drop trailing names until a class is found
        while parts:
            found = self._class(parts)
            if found:
                return found
            if len(parts) <= 2:
                break
            parts = parts[:-1]
        return set()

    def _class(self, parts: list[str]) -> set[str]:
        exact = self._classes.get(".".join(parts))
        if exact:
            return set(exact)
        suffix = "/".join(parts) + ".java"
        return {p for p in self._by_name.get(parts[-1], ()) if p == suffix or p.endswith("/" + suffix)}

    def _package(self, package: str) -> set[str]:
        files = self._packages.get(package)
        if not files:
            # no file declared that package: fall back to the directory layout
            suffix = package.replace(".", "/")
            by_dir = self._dirs.get(suffix.rsplit("/", 1)[-1], {})
            files = [
                p
                for directory, paths in by_dir.items()
                if directory == suffix or directory.endswith("/" + suffix)
                for p in paths
            ]
        return set(sorted(files)[:MAX_PACKAGE_FILES])


RESOLVERS = (JavaImports,)
