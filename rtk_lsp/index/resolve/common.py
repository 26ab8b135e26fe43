"""What every language's import resolver shares: the workspace's files and path arithmetic."""

from __future__ import annotations

import posixpath
from abc import ABC, abstractmethod
from collections.abc import Collection, Container, Iterable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from rtk_lsp.model import Import

# Most files a package-level import may expand to (Go packages, Java `a.b.*`).
MAX_PACKAGE_FILES = 20


@dataclass
class Files:
    """The workspace as resolvers see it: every path, and facts read from its build files."""

    paths: set[str] = field(default_factory=set)
    go_module: str = ""  # the `module` line of go.mod


class Uses(NamedTuple):
    """What the importing file references, and which files define each name."""

    names: Container[str]
    defs: Mapping[str, Collection[str]]

    def named_after(self, files: Iterable[str]) -> set[str]:
        """An import of a whole namespace or module (C# `using`, Swift `import`, `a.b.*`) means
        the files of it named after a type the importing file uses, not all of them."""
        return {f for f in files if stem(f) in self.names}

    def defining(self, name: str, files: Iterable[str]) -> set[str]:
        """Those of `files` that define `name` (a file holding several types, a top-level function)."""
        found = self.defs.get(name)
        return set(files).intersection(found) if found else set()


class LanguageResolver(ABC):
    """Resolves the imports of one language (or family), from indexes it builds over the file list."""

    languages: frozenset[str] = frozenset()  # whose imports it resolves
    reads: frozenset[str] = frozenset()  # the languages of the files `add` is given, if not those

    def __init__(self, files: Files) -> None:
        self.files = files

    def add(self, path: str, language: str, package: str) -> None:  # noqa: B027 (most index files)
        """Index one file (`package`: its package clause or manifest facts, if it has any)."""

    def finish(self) -> None:  # noqa: B027 (a few need a pass over everything added)
        """Called once every file was added."""

    @abstractmethod
    def resolve(self, importer: str, imp: Import, uses: Uses) -> set[str]: ...


def parent(path: str) -> str:
    return posixpath.dirname(path)


def join(*parts: str) -> str:
    return "/".join(p for p in parts if p)


def _shared_dirs(a: str, b: str) -> int:
    """How many leading directories two paths have in common."""
    n = 0
    for x, y in zip(a.split("/")[:-1], b.split("/")[:-1], strict=False):
        if x != y:
            break
        n += 1
    return n


def join_dotted(a: str, b: str) -> str:
    return f"{a}.{b}" if a else b


def stem(path: str) -> str:
    """The type a file is named after: `Options.TResult.cs`, `View+Extras.swift` -> the first part."""
    return posixpath.basename(path).split(".", 1)[0].split("+", 1)[0]


def type_files(files: Collection[str], name: str, uses: Uses) -> set[str]:
    """The files of a namespace holding the type (or top-level function) `name`."""
    return {f for f in files if stem(f) == name} or uses.defining(name, files)


def file_at(paths: set[str], *candidates: str) -> set[str]:
    """The first candidate path (normalised) that is a workspace file."""
    for candidate in candidates:
        candidate = posixpath.normpath(candidate)
        if candidate in paths:
            return {candidate}
    return set()


def closest(candidates: Iterable[str], importer: str) -> str | None:
    """The candidate nearest the importing file, then the shortest path."""
    return min(candidates, key=lambda p: (-_shared_dirs(p, importer), len(p), p), default=None)
