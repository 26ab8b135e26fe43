"""Language detection by file name.

Languages with a tree-sitter grammar get symbols, references and imports;
every other text file is indexed lexically only.
"""

from __future__ import annotations

import os

from rtk_lsp.index.parse import LANGUAGES, MANIFESTS, SPECS

# Languages parsed with tree-sitter: the registry of rtk_lsp/index/parse is the one list.
PARSED = LANGUAGES
# Build manifests whose facts (the PSR-4 map, SwiftPM targets) resolve imports.
MANIFEST_NAMES = frozenset(MANIFESTS)

# Text indexed lexically only (a parsed language's own extensions come from its module).
_LEXICAL: dict[str, str] = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".rst": "rst",
    ".txt": "text",
    ".toml": "toml",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".json": "json",
    ".sh": "shell",
    ".bash": "shell",
    ".zsh": "shell",
    ".lua": "lua",
    ".html": "html",
    ".htm": "html",
    ".css": "css",
    ".scss": "css",
    ".sql": "sql",
    ".xml": "xml",
    ".ini": "ini",
    ".cfg": "ini",
    ".proto": "proto",
    ".vue": "vue",
    ".svelte": "svelte",
}

_BY_EXT: dict[str, str] = {
    **_LEXICAL,
    **{ext: spec.name for spec in SPECS.values() for ext in spec.extensions},
}

_BY_NAME: dict[str, str] = {
    "makefile": "make",
    "dockerfile": "dockerfile",
    "cmakelists.txt": "cmake",
    "cargo.toml": "toml",
    "go.mod": "gomod",
}

KNOWN_EXTENSIONS = frozenset(_BY_EXT)

SOURCE_LANGUAGES = PARSED | frozenset({"lua", "shell", "vue", "svelte"})
DOC_LANGUAGES = frozenset({"markdown", "rst", "text"})
CONFIG_LANGUAGES = frozenset({"toml", "yaml", "json", "ini", "gomod", "xml"})


def detect_language(rel_path: str) -> str:
    """The language of a path, "other" when unknown."""
    name = os.path.basename(rel_path).lower()
    if name in _BY_NAME:
        return _BY_NAME[name]
    _, ext = os.path.splitext(name)
    return _BY_EXT.get(ext, "other")


def has_facts(rel_path: str, language: str) -> bool:
    """Whether a file is parsed for symbols and imports, or read as a build manifest."""
    return language in PARSED or rel_path.rpartition("/")[2] in MANIFEST_NAMES
