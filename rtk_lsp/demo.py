"""The example workspace that ships inside the package, copied to a git repository `rtk-lsp demo` plans on.

The example is package data (`rtk_lsp/examples/shop`, which `examples/shop` in the source tree
links to). It is planned from a copy under the cache directory that is a git repository of its
own: inside an installed package it may sit in a directory that an enclosing repository ignores
(a project's `.venv`), where git would list no files at all, and it has no history there.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import tempfile
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

log = logging.getLogger(__name__)

EXAMPLE = "shop"
DEFAULT_TASK = "fix the discount rounding in InvoiceCalculator.apply_discount"
_COMMIT_MESSAGE = "The example shop, as shipped with rtk-lsp"


def example_files() -> dict[str, bytes]:
    """The packaged example's files by relative path (bytecode caches left out)."""
    files: dict[str, bytes] = {}

    def walk(node: Traversable, prefix: str) -> None:
        for child in node.iterdir():
            if child.name == "__pycache__" or child.name.endswith(".pyc"):
                continue
            if child.is_dir():
                walk(child, f"{prefix}{child.name}/")
            else:
                files[f"{prefix}{child.name}"] = child.read_bytes()

    walk(resources.files("rtk_lsp") / "examples" / EXAMPLE, "")
    return files


def _holds(root: Path, files: dict[str, bytes]) -> bool:
    present = {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }
    return present == set(files) and all((root / rel).read_bytes() == data for rel, data in files.items())


def _git(root: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "rtk-lsp",
        "GIT_AUTHOR_EMAIL": "rtk-lsp@localhost",
        "GIT_COMMITTER_NAME": "rtk-lsp",
        "GIT_COMMITTER_EMAIL": "rtk-lsp@localhost",
    }
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        env.pop(name, None)
    # The user's signing and hooks have no business with this throwaway repository.
    subprocess.run(
        ["git", "-c", "commit.gpgsign=false", "-c", "core.hooksPath=/dev/null", *args],
        cwd=root,
        env=env,
        capture_output=True,
        check=True,
        timeout=60,
    )


def prepare(parent: str | None = None) -> str:
    """A git repository holding the packaged example (under the cache directory unless `parent`
    is given), made or replaced when it is missing or differs from the package; returns its path."""
    if parent is None:
        from rtk_lsp.paths import cache_dir

        parent = os.path.join(cache_dir(), "examples")
    dest = Path(parent) / EXAMPLE
    files = example_files()
    if dest.is_dir() and _holds(dest, files):
        return str(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fresh = Path(tempfile.mkdtemp(prefix=f".{EXAMPLE}-", dir=dest.parent))
    for rel, data in files.items():
        (fresh / rel).parent.mkdir(parents=True, exist_ok=True)
        (fresh / rel).write_bytes(data)
    try:
        _git(fresh, "init", "-q")
        _git(fresh, "add", "-A")
        _git(fresh, "commit", "-q", "-m", _COMMIT_MESSAGE)
    except (OSError, subprocess.SubprocessError) as e:
        log.info("example without git history (%s)", e)
    stale = None
    if dest.exists():
        stale = Path(tempfile.mkdtemp(prefix=f".{EXAMPLE}-stale-", dir=dest.parent))
        with contextlib.suppress(OSError):
            os.replace(dest, stale / EXAMPLE)
    try:
        os.replace(fresh, dest)
    except OSError:  # a demo running at the same time put its copy there first
        shutil.rmtree(fresh, ignore_errors=True)
    if stale is not None:
        shutil.rmtree(stale, ignore_errors=True)
    return str(dest)
