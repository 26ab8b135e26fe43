"""`rtk-lsp demo`: the example workspace that ships inside the package, planned from a copy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from gitrepo import EXAMPLE, GitRepo

from rtk_lsp import demo


def run_demo(cache: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RTK_LSP_CACHE_DIR": str(cache)}
    env.pop("XDG_RUNTIME_DIR", None)  # no discovery of servers the developer may be running
    return subprocess.run(
        [sys.executable, "-m", "rtk_lsp", "demo", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )


def test_the_packaged_example_is_the_source_trees_example() -> None:
    shipped = demo.example_files()
    on_disk = {
        p.relative_to(EXAMPLE).as_posix(): p.read_bytes()
        for p in EXAMPLE.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert shipped == on_disk
    assert "billing/invoice.py" in shipped


def test_demo_plans_the_example_even_inside_an_ignored_directory(tmp_path: Path) -> None:
    # A cache inside a repository that ignores it, as an installed package inside a project's
    # .venv is: git lists nothing there, so the copy must be a repository of its own.
    outer = GitRepo(tmp_path / "project")
    outer.commit("ignore the cache", {".gitignore": "ignored/\n"})
    cache = outer.root / "ignored" / "cache"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    proc = run_demo(cache, elsewhere)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == f"task: {demo.DEFAULT_TASK}"
    assert lines[1].startswith("confidence: 1.00  matched: ")
    assert "of 7 candidates" in lines[3]
    assert lines[5].startswith(" 1. billing/invoice.py")
    copy = cache / "examples" / "shop"
    assert f"copied to {copy}" in proc.stderr
    assert 'rtk-lsp plan "TASK" --root' in proc.stderr
    log = subprocess.run(["git", "log", "--format=%s"], cwd=copy, capture_output=True, text=True, check=True)
    assert log.stdout.splitlines() == ["The example shop, as shipped with rtk-lsp"]


def test_demo_takes_a_task_and_restores_an_edited_copy(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = run_demo(cache, tmp_path)
    assert first.returncode == 0, first.stderr
    copy = cache / "examples" / "shop"
    (copy / "billing" / "tax.py").write_text("# edited by hand\n")
    (copy / "stray.txt").write_text("not part of the example\n")

    proc = run_demo(cache, tmp_path, "where is the tax rate for the US")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "task: where is the tax rate for the US"
    assert " 1. billing/tax.py" in proc.stdout
    assert (copy / "billing" / "tax.py").read_bytes() == (EXAMPLE / "billing" / "tax.py").read_bytes()
    assert not (copy / "stray.txt").exists()
    assert [p.name for p in (cache / "examples").iterdir()] == ["shop"]  # no temporary copies left


def test_prepare_reuses_an_intact_copy(tmp_path: Path) -> None:
    root = Path(demo.prepare(str(tmp_path)))
    marker = root / ".git" / "rtk-test-marker"
    marker.write_text("kept")
    assert demo.prepare(str(tmp_path)) == str(root)
    assert marker.exists()  # not rebuilt
