"""Python: absolute imports by dotted module name, relative imports by package directory."""

from __future__ import annotations

import posixpath

from rtk_lsp.index.resolve.common import Files, LanguageResolver, Uses, closest, join, join_dotted, parent
from rtk_lsp.model import Import

_EXTENSIONS = (".py", ".pyi")


class PythonImports(LanguageResolver):
    languages = frozenset({"python"})

    def __init__(self, files: Files) -> None:
        super().__init__(files)
        # last module name -> (path, dotted parts of the module it defines)
        self._modules: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
        # dotted name -> the files that define it: the same few modules are imported by thousands
        # of files, and a resolver's file set never changes (a new set gets a new resolver)
        self._defining: dict[str, list[str]] = {}

    def add(self, path: str, language: str, package: str) -> None:
        stem, ext = posixpath.splitext(path)
        if ext not in _EXTENSIONS:
            return
        parts = tuple(stem.split("/"))
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts:
            self._modules.setdefault(parts[-1], []).append((path, parts))

    def resolve(self, importer: str, imp: Import, uses: Uses) -> set[str]:
        module = imp.module
        if module.startswith("."):
            level = len(module) - len(module.lstrip("."))
            base = parent(importer)
            for _ in range(level - 1):
                if not base:
                    return set()  # more dots than directories
                base = parent(base)
            rest = module[level:]

            def find(dotted: str) -> str | None:
                return self._relative(base, dotted)

        else:

            def find(dotted: str) -> str | None:
                return self._absolute(dotted, importer)

            rest = module
        found: set[str] = set()
        needs_module = not imp.names
        for name in imp.names:
            # `from pkg import name` names a submodule or something defined in pkg
            sub = find(join_dotted(rest, name)) if name != "*" else None
            if sub is not None:
                found.add(sub)
            else:
                needs_module = True
        if needs_module:
            target = find(rest)
            if target is not None:
                found.add(target)
        return found

    def _relative(self, base: str, dotted: str) -> str | None:
        stem = join(base, dotted.replace(".", "/"))
        # `from . import x` with no module part names the package itself
        modules: tuple[str, ...] = (f"{stem}.py", f"{stem}.pyi") if dotted else ()
        for candidate in (*modules, join(stem, "__init__.py"), join(stem, "__init__.pyi")):
            if candidate in self.files.paths:
                return candidate
        return None

    def _absolute(self, dotted: str, importer: str) -> str | None:
        if not dotted:
            return None
        candidates = self._defining.get(dotted)
        if candidates is None:
            parts = tuple(dotted.split("."))
            n = len(parts)
            candidates = self._defining[dotted] = [
                path for path, mod in self._modules.get(parts[-1], ()) if len(mod) >= n and mod[-n:] == parts
            ]
        if len(candidates) > 1:
            # a stub and its module, or several copies: prefer the source next to the importer
            sources = [p for p in candidates if p.endswith(".py")] or candidates
            return closest(sources, importer)
        return candidates[0] if candidates else None


RESOLVERS = (PythonImports,)
