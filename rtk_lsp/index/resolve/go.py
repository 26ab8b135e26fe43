"""Go: import paths to package directories, inside the module of go.mod or by directory suffix."""

from __future__ import annotations

from rtk_lsp.index.resolve.common import MAX_PACKAGE_FILES, Files, LanguageResolver, Uses, parent
from rtk_lsp.model import Import


class GoImports(LanguageResolver):
    languages = frozenset({"go"})

    def __init__(self, files: Files) -> None:
        super().__init__(files)
        self._module = files.go_module.strip().strip("/")
        # directory -> non-test .go files; directory suffix -> directories
        self._dirs: dict[str, list[str]] = {}
        self._suffixes: dict[str, list[str]] = {}

    def add(self, path: str, language: str, package: str) -> None:
        if not path.endswith("_test.go"):
            self._dirs.setdefault(parent(path), []).append(path)

    def finish(self) -> None:
        for directory, go_files in self._dirs.items():
            go_files.sort()
            parts = directory.split("/") if directory else []
            for i in range(len(parts)):
                self._suffixes.setdefault("/".join(parts[i:]), []).append(directory)

    def resolve(self, importer: str, imp: Import, uses: Uses) -> set[str]:
        path = imp.module.strip("/")
        module = self._module
        inside = bool(module) and (path == module or path.startswith(module + "/"))
        if inside:
            directory = path[len(module) + 1 :]
            if directory in self._dirs:
                return self._package(directory)
        parts = path.split("/")
        if not inside and "." not in parts[0]:
            # the standard library ("net/http") or a GOPATH-style path: whole path only
            min_segments = len(parts)
        elif module and not inside:
            min_segments = 2  # another module: one shared directory name is not evidence
        else:
            min_segments = 1
        for i in range(len(parts) - min_segments + 1):
            dirs = self._suffixes.get("/".join(parts[i:]))
            if dirs:
                # several directories share the suffix: take the shortest, deterministically
                return self._package(min(dirs, key=lambda d: (len(d), d)))
        return set()

    def _package(self, directory: str) -> set[str]:
        return set(self._dirs.get(directory, ())[:MAX_PACKAGE_FILES])


RESOLVERS = (GoImports,)
