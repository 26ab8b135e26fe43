"""Rust: `mod name;`, `use crate::/self::/super::` paths, 2018 child-module paths and workspace crates."""

from __future__ import annotations

import posixpath

from rtk_lsp.index.resolve.common import Files, LanguageResolver, Uses, join, parent
from rtk_lsp.model import Import

_ROOTS = ("lib.rs", "main.rs")


class RustImports(LanguageResolver):
    languages = frozenset({"rust"})

    def __init__(self, files: Files) -> None:
        super().__init__(files)
        # crate name -> crate root directory; directory -> its crate root (memo)
        self._crates: dict[str, str] = {}
        self._roots: dict[str, tuple[str, str] | None] = {}

    def add(self, path: str, language: str, package: str) -> None:
        directory, name = posixpath.split(path)
        if name not in _ROOTS:
            return
        # `crates/foo-bar/src/lib.rs` is the crate `foo_bar`
        owner = parent(directory) if posixpath.basename(directory) == "src" else directory
        crate = posixpath.basename(owner).replace("-", "_")
        if crate and (name == "lib.rs" or crate not in self._crates):
            self._crates[crate] = directory

    def resolve(self, importer: str, imp: Import, uses: Uses) -> set[str]:
        module = imp.module
        if module.startswith("mod:"):
            name = module[4:]
            # a crate root other than lib.rs/main.rs (tests/it.rs) keeps its modules beside it
            for directory in (self._child_dir(importer), parent(importer)):
                found = self._module_file(directory, name)
                if found is not None:
                    return {found}
            return set()

        segments = [s for s in module.split("::") if s]
        if not segments:
            return set()
        start = self._start(importer, segments)
        if start is None:
            return set()
        directory, current, rest = start
        for segment in rest:
            found = self._module_file(directory, segment)
            if found is None:
                break  # the remaining segments are items inside `current`
            directory, current = join(directory, segment), found
        else:
            # every segment was a module: the names may be modules too
            targets = set()
            for name in imp.names:
                sub = self._module_file(directory, name) if name not in ("self", "*") else None
                if sub is None:
                    targets.add(current)
                else:
                    targets.add(sub)
            return targets or {current}
        return {current}

    def _start(self, importer: str, segments: list[str]) -> tuple[str, str, list[str]] | None:
        """The module a path starts from: (its child directory, its file, the segments left)."""
        head = segments[0]
        if head == "crate":
            root = self._crate_root(importer)
            return None if root is None else (root[0], root[1], segments[1:])
        if head in ("self", "super"):
            directory, current = self._child_dir(importer), importer
            rest = segments
            while rest and rest[0] in ("self", "super"):
                if rest[0] == "super":
                    up = self._parent(importer, directory)
                    if up is None:
                        return None
                    directory, current = up
                rest = rest[1:]
            return directory, current, rest
        # 2018 paths may start at a child module of the current one ...
        if self._module_file(self._child_dir(importer), head) is not None:
            return self._child_dir(importer), importer, segments
        # ... or name another crate of the workspace
        crate_dir = self._crate_dir(head)
        if crate_dir is not None:
            root_file = self._root_file(crate_dir)
            if root_file is not None:
                return crate_dir, root_file, segments[1:]
        return None

    def _crate_dir(self, crate: str) -> str | None:
        found = self._crates.get(crate)
        if found is None:
            # `grep_matcher` is often kept in `crates/matcher`: the package name in
            # Cargo.toml is not known here, so accept a directory named by its tail
            parts = crate.split("_")
            for i in range(1, len(parts)):
                found = self._crates.get("_".join(parts[i:]))
                if found is not None:
                    break
        return found

    def _child_dir(self, path: str) -> str:
        """Where the child modules of the module defined by `path` live."""
        directory, name = posixpath.split(path)
        if name in ("mod.rs", *_ROOTS):
            return directory
        return join(directory, name[: -len(".rs")] if name.endswith(".rs") else name)

    def _module_file(self, directory: str, name: str) -> str | None:
        for candidate in (join(directory, f"{name}.rs"), join(directory, name, "mod.rs")):
            if candidate in self.files.paths:
                return candidate
        return None

    def _root_file(self, directory: str) -> str | None:
        for name in _ROOTS:
            if join(directory, name) in self.files.paths:
                return join(directory, name)
        return None

    def _crate_root(self, importer: str) -> tuple[str, str] | None:
        """The nearest enclosing directory holding lib.rs or main.rs, and that file."""
        start = parent(importer)
        if start in self._roots:
            return self._roots[start]
        directory = start
        while True:
            root_file = self._root_file(directory)
            if root_file is not None:
                found: tuple[str, str] | None = (directory, root_file)
                break
            if not directory:
                found = None
                break
            directory = parent(directory)
        self._roots[start] = found
        return found

    def _parent(self, importer: str, directory: str) -> tuple[str, str] | None:
        """The parent of the module whose child directory is `directory`."""
        root = self._crate_root(importer)
        if root is None or directory == root[0] or not directory:
            return None
        parent_dir = parent(directory)
        if parent_dir == root[0]:
            return root
        parent_file = self._module_file(parent(parent_dir), posixpath.basename(parent_dir))
        return None if parent_file is None else (parent_dir, parent_file)


RESOLVERS = (RustImports,)
