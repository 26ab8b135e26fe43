"""Resolve raw imports (as the parser reports them) to workspace files.

One resolver per language (or family: JavaScript with TypeScript, C with C++), each in its
own module with the indexes it builds once over the file list, so that resolving costs a
few dict lookups; it runs for every import of every file. Paths are workspace-relative
POSIX paths. An import that names something outside the workspace (the standard library,
a third-party package) resolves to nothing, as does an import of a language without one.

Adding a language: a module declaring `RESOLVERS` (see `common.LanguageResolver`) and its
line in `REGISTRY`.
"""

from __future__ import annotations

from collections.abc import Collection, Container, Iterable, Mapping

from rtk_lsp.index.resolve import c, csharp, go, java, javascript, packages, php, python, ruby, rust, swift
from rtk_lsp.index.resolve.common import MAX_PACKAGE_FILES, Files, LanguageResolver, Uses
from rtk_lsp.model import Import

__all__ = ["MAX_PACKAGE_FILES", "ImportResolver"]

REGISTRY = (
    python,
    javascript,
    rust,
    go,
    java,
    c,
    ruby,
    php,
    csharp,
    packages,
    swift,
)


class ImportResolver:
    """Maps `(importing file, Import)` to the workspace files it refers to."""

    def __init__(self, files: Iterable[tuple[str, str, str]], *, go_module: str = "") -> None:
        """`files`: (path, language, package clause) of every workspace file."""
        workspace = Files(go_module=go_module)
        resolvers = [make(workspace) for module in REGISTRY for make in module.RESOLVERS]
        self._by_language: dict[str, LanguageResolver] = {
            language: resolver for resolver in resolvers for language in resolver.languages
        }
        feeds: dict[str, list[LanguageResolver]] = {}
        for resolver in resolvers:
            for language in resolver.reads or resolver.languages:
                feeds.setdefault(language, []).append(resolver)
        for path, language, package in files:
            workspace.paths.add(path)
            for resolver in feeds.get(language, ()):
                resolver.add(path, language, package)
        for resolver in resolvers:
            resolver.finish()

    def resolve(
        self,
        rel_path: str,
        language: str,
        imp: Import,
        used: Container[str] = (),
        defs: Mapping[str, Collection[str]] | None = None,
    ) -> tuple[str, ...]:
        """Workspace files `imp` (found in `rel_path`) refers to: sorted, unique, () if none.

        `used` are the names `rel_path` references and `defs` the files defining each name:
        some languages need them to tell which files of a namespace an import means.
        """
        resolver = self._by_language.get(language)
        if resolver is None:
            return ()
        found = resolver.resolve(rel_path, imp, Uses(used, defs or {}))
        found.discard(rel_path)
        return tuple(sorted(found))
