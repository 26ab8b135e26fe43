"""Kotlin and Scala: packages as declared, a class in the file named after it, else by directories."""

from __future__ import annotations

import posixpath

from rtk_lsp.index.resolve.common import (
    Files,
    LanguageResolver,
    Uses,
    join_dotted,
    parent,
    stem,
    type_files,
)
from rtk_lsp.model import Import


class PackageImports(LanguageResolver):
    """Kotlin and Scala: packages as declared, a class in the file named after it, else by directories."""

    # Scala resolves `import b.C` inside package `a` as `a.b.C` too
    relative = False

    def __init__(self, files: Files) -> None:
        super().__init__(files)
        self.packages: dict[str, list[str]] = {}
        self.package_of: dict[str, str] = {}
        self.by_stem: dict[str, list[str]] = {}

    def add(self, path: str, language: str, package: str) -> None:
        if package:
            self.packages.setdefault(package, []).append(path)
            self.package_of[path] = package
            directory = posixpath.basename(parent(path))
            if stem(path) == "package" and directory and not package.endswith("." + directory):
                # `package a` + `package object b` in a/b/package.scala makes the package a.b
                self.packages.setdefault(f"{package}.{directory}", []).append(path)
        self.by_stem.setdefault(stem(path), []).append(path)

    def resolve(self, importer: str, imp: Import, uses: Uses) -> set[str]:
        module = imp.module
        bases = [""]
        if self.relative:
            enclosing = self.package_of.get(importer, "").split(".")
            bases += [".".join(enclosing[:i]) for i in range(len(enclosing), 0, -1) if enclosing[0]]
        head = module.split(".", 1)[0]
        for base in bases:
            if base and join_dotted(base, head) not in self.packages:
                continue  # `b.C` is relative only where the package `a.b` exists
            found = self._absolute(join_dotted(base, module), uses)
            if found:
                return found
        return set()

    def _absolute(self, module: str, uses: Uses) -> set[str]:
        if module.endswith(".*"):
            files = self._package(module[:-2])
            # Scala's package object (package.scala) is what a wildcard import often wants
            return uses.named_after(files) | {f for f in files if stem(f) == "package"}
        parts = module.split(".")
        # `a.b.Outer.Inner`, `a.b.Object.member`: drop trailing names until a class is found
        while len(parts) >= 2:
            found = self._class(parts, uses)
            if found:
                return found
            parts = parts[:-1]
        return set()

    def _class(self, parts: list[str], uses: Uses) -> set[str]:
        package, name = ".".join(parts[:-1]), parts[-1]
        declared = type_files(self.packages.get(package, ()), name, uses)
        if declared:
            return declared
        suffix = "/".join(parts)
        return {
            f
            for f in self.by_stem.get(name, ())
            if (stem := posixpath.splitext(f)[0]) == suffix or stem.endswith("/" + suffix)
        }

    def _package(self, package: str) -> list[str]:
        declared = self.packages.get(package)
        if declared:
            return declared
        suffix = "/" + package.replace(".", "/")
        return [f for files in self.by_stem.values() for f in files if ("/" + parent(f)).endswith(suffix)]


class KotlinImports(PackageImports):
    languages = frozenset({"kotlin"})


class ScalaImports(PackageImports):
    languages = frozenset({"scala"})
    relative = True


RESOLVERS = (
    KotlinImports,
    ScalaImports,
)
