"""The one answer to "is this path inside that root", and its neighbours."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rtk_lsp.paths import git_change, innermost, inside, path_of, relative, resolve_dirs, roots_holding


@pytest.mark.parametrize(
    ("path", "root", "expected"),
    [
        ("/w/a", "/w/a", True),
        ("/w/a/b.py", "/w/a", True),
        ("/w/a/b.py", "/w/a/", True),
        ("/w/ab/c.py", "/w/a", False),  # a sibling sharing a prefix is not inside
        ("/w", "/w/a", False),
        ("/x", "/", True),
    ],
)
def test_inside(path: str, root: str, expected: bool) -> None:
    assert inside(path, root) is expected


def test_innermost_and_every_root_holding_a_path() -> None:
    roots = ["/w", "/w/a/b", "/w/a", "/v"]
    assert roots_holding("/w/a/b/c.py", roots, str) == ["/w/a/b", "/w/a", "/w"]
    assert innermost("/w/a/x.py", roots, str) == "/w/a"
    assert innermost("/w/ab", roots, str) == "/w"
    assert innermost("/u/x", roots, str) is None


def test_path_of() -> None:
    assert path_of("file:///a/b%20c.py") == "/a/b c.py"
    assert path_of("/a/b.py") == "/a/b.py"
    assert path_of("untitled:Untitled-1") is None
    assert path_of("https://example.com/x") is None


@pytest.mark.parametrize(
    ("parts", "kind"),
    [
        (("src", "a.py"), "outside"),
        ((".git", "HEAD"), "head"),
        (("sub", ".git", "refs", "heads", "main"), "head"),
        ([".git", "packed-refs"], "head"),
        ((".git", "objects", "ab", "cdef"), "noise"),
        ((".git", "index"), "noise"),
        ((".git",), "noise"),
    ],
)
def test_git_change(parts: tuple[str, ...], kind: str) -> None:
    assert git_change(parts) == kind


def test_resolve_dirs_keeps_the_file_itself(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    (real / "target.py").write_text("")
    (real / "alias.py").symlink_to(real / "target.py")
    resolved = resolve_dirs(str(tmp_path / "link" / "alias.py"))
    assert resolved == os.path.join(os.path.realpath(real), "alias.py")  # the directory, not the file
    assert relative(resolved, os.path.realpath(tmp_path)) == "real/alias.py"
