"""Path questions every part asks: is this inside that root, which root is innermost, what a
URI names, which changes under `.git` matter, where caches live. Standard library only.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Sequence
from typing import Literal, TypeVar
from urllib.parse import unquote, urlparse

__all__ = [
    "cache_dir",
    "db_path_for",
    "git_change",
    "innermost",
    "inside",
    "path_of",
    "relative",
    "relative_inside",
    "resolve_dirs",
    "roots_holding",
]

R = TypeVar("R")


def inside(path: str, root: str) -> bool:
    """`path` is `root` or below it. Both must already be absolute and resolved alike."""
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def roots_holding(path: str, items: Iterable[R], root: Callable[[R], str]) -> list[R]:
    """The items whose `root(item)` holds `path`, innermost first."""
    return sorted((item for item in items if inside(path, root(item))), key=lambda i: -len(root(i)))


def innermost(path: str, items: Iterable[R], root: Callable[[R], str]) -> R | None:
    """The item whose root holds `path` most closely, or None."""
    found = roots_holding(path, items, root)
    return found[0] if found else None


def resolve_dirs(path: str) -> str:
    """An absolute path with its directories resolved but not the file itself: it may be
    deleted, or a symlink the index keeps as it is."""
    path = os.path.abspath(path)
    return os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))


def relative(path: str, root: str) -> str:
    """`path` relative to `root`, with forward slashes (the index's spelling)."""
    return os.path.relpath(path, root).replace(os.sep, "/")


def relative_inside(path: str, root: str) -> str | None:
    """`path` (absolute, or relative to `root`) as the index spells it, or None when it is
    `root` itself or leads outside it (`..`, a symlinked directory). `root` must be resolved."""
    full = resolve_dirs(os.path.join(root, path))
    if full == root or not inside(full, root):
        return None
    return relative(full, root)


def path_of(path_or_uri: str) -> str | None:
    """A file system path for a path or a `file:` URI; None for other URI schemes, and for
    what no file system path can hold (a NUL, from `%00`)."""
    path = path_or_uri
    if "://" in path_or_uri or path_or_uri.startswith("file:"):
        parsed = urlparse(path_or_uri)
        if parsed.scheme != "file":
            return None
        path = unquote(parsed.path)
        if parsed.netloc and parsed.netloc != "localhost":
            path = f"//{parsed.netloc}{path}"
    elif ":" in path_or_uri.split("/", 1)[0] and not os.path.isabs(path_or_uri):
        return None  # untitled:, vscode-notebook-cell: and friends
    return None if "\0" in path else path


def git_change(parts: Sequence[str]) -> Literal["outside", "head", "noise"]:
    """What a changed path (split into its parts) is to a watcher: outside `.git`, a move of
    HEAD (a commit, checkout or fetch writes HEAD, refs/ or packed-refs), or noise (objects/,
    the index, logs/)."""
    if ".git" not in parts:
        return "outside"
    tail = list(parts)[list(parts).index(".git") + 1 :]
    return "head" if tail[:1] in (["HEAD"], ["refs"], ["packed-refs"]) else "noise"


def db_path_for(root: str) -> str:
    """The index store of a workspace root (whether or not it exists yet)."""
    real = os.path.realpath(root)
    digest = hashlib.sha1(real.encode("utf-8", errors="surrogateescape")).hexdigest()[:16]
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in os.path.basename(real))[:40] or "root"
    return os.path.join(cache_dir(), f"{name}-{digest}.sqlite")


def cache_dir() -> str:
    """Where rtk-lsp keeps its index stores (and, without a runtime dir, its discovery files)."""
    base = os.environ.get("RTK_LSP_CACHE_DIR")
    if base:
        return base
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(xdg, "rtk-lsp")
