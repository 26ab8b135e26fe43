"""What the index reads of a repository's `.git` without running git, and how long git may run.

HEAD is read before every plan, so it is read from the files (guarded: a `.git/HEAD` that is
a FIFO or a device reads as "no HEAD" instead of blocking). Every git process the index
starts is bounded by `git_timeout()`: git itself hangs on a FIFO named `.gitignore`, on a
stuck lock or on a dead network file system, and a caller then falls back to what it can
do without git.
"""

from __future__ import annotations

import math
import os
import stat

from rtk_lsp.index import fsread

DEFAULT_GIT_TIMEOUT_S = 30.0
# packed-refs of a repository with hundreds of thousands of tags still fits.
_REFS_LIMIT = 64 << 20


def git_timeout() -> float:
    """Seconds one git call may take: `RTK_LSP_GIT_TIMEOUT`, else 30."""
    raw = os.environ.get("RTK_LSP_GIT_TIMEOUT", "")
    try:
        value = float(raw)
    except ValueError:
        return DEFAULT_GIT_TIMEOUT_S
    return value if math.isfinite(value) and value > 0 else DEFAULT_GIT_TIMEOUT_S


def find_git_dir(root: str) -> str | None:
    """The git directory of the work tree holding `root` (a `.git` directory, or where a
    `.git` file of a worktree or submodule points), or None."""
    d = root
    while True:
        dotgit = os.path.join(d, ".git")
        if os.path.isdir(dotgit):
            return dotgit
        if os.path.isfile(dotgit):  # worktrees and submodules: "gitdir: <path>"
            line = (fsread.read_text(dotgit, 4096) or "").strip()
            if line.startswith("gitdir:"):
                return os.path.normpath(os.path.join(d, line[7:].strip()))
            return None
        parent = os.path.dirname(d)
        if parent == d:
            return None
        d = parent


def _common_dir(git_dir: str) -> str:
    common = (fsread.read_text(os.path.join(git_dir, "commondir"), 4096) or "").strip()
    return os.path.normpath(os.path.join(git_dir, common)) if common else git_dir


def head_of(git_dir: str) -> str | None:
    """HEAD's commit id as the ref files say (loose or packed), or None."""
    head = (fsread.read_text(os.path.join(git_dir, "HEAD"), 4096) or "").strip()
    if not head.startswith("ref:"):
        return head or None
    ref = head[4:].strip()
    common = _common_dir(git_dir)
    for base in (git_dir, common):
        sha = fsread.read_text(os.path.join(base, ref), 4096)
        if sha is not None:
            return sha.strip() or None
    packed = fsread.read_text(os.path.join(common, "packed-refs"), _REFS_LIMIT) or ""
    for line in packed.splitlines():
        if line.endswith(" " + ref):
            return line.split(" ", 1)[0]
    return None


def read_head(root: str) -> str | None:
    """HEAD's sha from the files under .git, without running git (cheap enough for every plan)."""
    git_dir = find_git_dir(root)
    return head_of(git_dir) if git_dir is not None else None


def metadata_readable(git_dir: str) -> bool:
    """False when a file git libraries read with a plain open() is not a regular file (a FIFO
    `HEAD`, `config` or `commondir` would block them for good)."""
    for base in dict.fromkeys((git_dir, _common_dir(git_dir))):
        for name in ("HEAD", "config", "commondir"):
            try:
                st = os.stat(os.path.join(base, name))
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode):
                return False
    return True
