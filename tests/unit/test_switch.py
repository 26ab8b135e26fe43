"""Branch switches and worktrees stay warm: content-addressed rows, the bulk path, a crash in it.

Every test compares what the index holds after a switch (definitions, references, imports,
calls, postings, history) with a fresh build of the same checkout.
"""

from __future__ import annotations

import gc
import inspect
import json
import marshal
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gitrepo import GitRepo

from rtk_lsp.index import history as hist
from rtk_lsp.index.content import ContentStore
from rtk_lsp.index.costs import costs
from rtk_lsp.index.snapshot import Snapshot
from rtk_lsp.index.workspace import Workspace
from rtk_lsp.paths import db_path_for
from rtk_lsp.settings import Settings

N = 40  # modules: enough for the parser processes once the cost model asks for them


def module(i: int, version: int) -> str:
    nxt = (i + 1) % N
    return textwrap.dedent(
        f'''\
        """Module {i}, version {version}."""
        from pkg.m{nxt} import helper_{nxt}_v{version}


        def helper_{i}_v{version}(value):
            """Doubles value {version}."""
            return helper_{nxt}_v{version}(value) * {version}


        class Thing{i}V{version}:
            def run(self):
                return helper_{i}_v{version}("message {i} {version}")
        '''
    )


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[tuple[GitRepo, str, str]]:
    """pkg/m0..m39 at version 1, then a commit rewriting all of them but a few, adding and
    deleting files: (repo, first commit, second commit)."""
    r = GitRepo(tmp_path / "repo")
    first = r.commit(
        "v1",
        {
            "pkg/__init__.py": "",
            **{f"pkg/m{i}.py": module(i, 1) for i in range(N)},
            "README.md": "# pkg\n",
            "old.py": "def gone():\n    pass\n",
        },
    )
    r.git("rm", "-q", "old.py")
    second = r.commit(
        "v2",
        {**{f"pkg/m{i}.py": module(i, 2) for i in range(5, N)}, "new.py": "from pkg.m1 import helper_1_v1\n"},
    )
    yield r, first, second


def facts(snap: Snapshot) -> dict[str, Any]:
    """Everything a plan reads of a snapshot but its timings, as plain data."""
    return {
        "files": {
            p: (r.hash, r.kind, r.language, r.lines, r.tokens, r.facts.to_wire(), r.body_terms, r.sym_terms)
            for p, r in snap.files.items()
        },
        "calls": snap.graph.edges_wire(),
        "imports": snap.graph.import_edges,
        "postings": (snap.lexical.postings, snap.lexical.lengths, snap.lexical.totals),
        "history": snap.history.to_wire(),
    }


FRESH = """
import marshal, sys
from typing import Any
from rtk_lsp.index.snapshot import Snapshot
from rtk_lsp.index.workspace import Workspace
from rtk_lsp.settings import Settings
{facts}
ws = Workspace(sys.argv[1], Settings(), use_store=sys.argv[2] == "store")
built = facts(ws.refresh())
sys.stdout.buffer.write(marshal.dumps((built, ws.last_refresh["parsed"], ws.last_refresh["reused"])))
"""


def build_in_new_process(root: Path, use_store: bool) -> tuple[dict[str, Any], int, int]:
    """What a new process builds, with the stores (the machine's content) or without: (facts,
    files parsed, contents looked up)."""
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            FRESH.format(facts=inspect.getsource(facts)),
            str(root),
            "store" if use_store else "fresh",
        ],
        capture_output=True,
        check=True,
        timeout=120,
    )
    built, parsed, reused = marshal.loads(out.stdout)
    return built, parsed, reused


def fresh(root: Path) -> dict[str, Any]:
    """A fresh build in a new process: nothing this process holds (or stored) takes part."""
    return build_in_new_process(root, use_store=False)[0]


@pytest.fixture(params=["patch", "bulk"])
def regime(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The cost model pinned to one way: patch file by file in this process, or the bulk path
    with parser processes (both must give what a fresh build gives)."""
    model = costs()
    if request.param == "patch":
        monkeypatch.setitem(model.ms, "pool_start", 1e9)
        monkeypatch.setitem(model.ms, "lexical_build", 1e9)
    else:
        monkeypatch.setitem(model.ms, "pool_start", 0.0)
        monkeypatch.setitem(model.ms, "lexical_update", 1e9)
    monkeypatch.setattr(model, "observe", lambda *a: None)  # stays pinned
    return str(request.param)


def test_switch_and_back_equal_a_fresh_build(repo: tuple[GitRepo, str, str], regime: str) -> None:
    r, first, second = repo
    ws = Workspace(str(r.root), Settings())
    at_second = ws.refresh()
    assert at_second.history.head == second

    r.git("checkout", "-q", first)
    switched = ws.refresh()
    assert ws.last_refresh["bulk"] is (regime == "bulk")
    assert switched.cache["changed"] == N - 5 + 2  # rewritten, new.py gone, old.py back
    assert facts(switched) == fresh(r.root)

    r.git("checkout", "-q", "main")
    back = ws.refresh()
    # Every content was seen before: looked up, none parsed.
    assert ws.last_refresh["parsed"] == 0 and ws.last_refresh["reused"] == N - 5 + 1
    assert facts(back) == fresh(r.root) == facts(at_second)
    ws.close()


def test_two_roots_share_content(repo: tuple[GitRepo, str, str], tmp_path: Path) -> None:
    r, _, _ = repo
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(r.root), str(clone)], check=True)

    a = Workspace(str(r.root), Settings())
    b = Workspace(str(clone), Settings())
    snap_a, snap_b = a.refresh(), b.refresh()
    assert b.last_refresh["parsed"] == 0
    # One set of facts and terms in memory for the same content under two roots.
    assert all(snap_b.files[p].facts is snap_a.files[p].facts for p in snap_a.files)
    assert facts(snap_b) == fresh(clone)

    a.close()
    b.close()
    # A new process holds nothing in memory: the machine-wide store serves every content.
    os.remove(db_path_for(str(clone)))  # the root's own rows too: every file is read and looked up
    built, parsed, reused = build_in_new_process(clone, use_store=True)
    assert parsed == 0 and reused == len(snap_b.files)
    assert built == fresh(clone)


def test_a_worktree_reads_no_commit_and_parses_nothing(
    repo: tuple[GitRepo, str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    r, _, _ = repo
    ws = Workspace(str(r.root), Settings())
    main = ws.refresh()
    reads: list[list[str]] = []
    real = hist._log
    monkeypatch.setattr(hist, "_log", lambda repo, shas, *a: reads.append(shas) or real(repo, shas, *a))
    tree = tmp_path / "tree"
    r.git("worktree", "add", "-q", "--detach", str(tree))

    other = Workspace(str(tree), Settings())
    snap = other.refresh()
    assert reads == [] and other.last_refresh["parsed"] == 0
    assert snap.history.to_wire() == main.history.to_wire()
    assert facts(snap) == fresh(tree)
    ws.close()
    other.close()


def test_cache_stats_and_prune_through_the_cli(repo: tuple[GitRepo, str, str], cache_dir: Path) -> None:
    r, _, _ = repo
    env = {**os.environ, "RTK_LSP_CACHE_DIR": str(cache_dir)}

    def cli(*args: str) -> dict[str, Any]:
        out = subprocess.run(
            [sys.executable, "-m", "rtk_lsp", *args], env=env, capture_output=True, text=True, check=True
        )
        return dict(json.loads(out.stdout)) if "--format" in args and "json" in args else {"text": out.stdout}

    cli("index", "--root", str(r.root))
    stats = cli("cache", "--stats", "--format", "json")
    assert stats["kinds"]["files"]["rows"] == N + 3  # one per content: pkg/*, README.md, new.py
    assert stats["kinds"]["commits"]["rows"] == 2
    assert stats["kinds"]["graphs"]["rows"] == 1
    assert "content store:" in cli("cache")["text"]

    pruned = cli("cache", "--prune", "--budget-mb", "0", "--format", "json")
    assert pruned["pruned"]["rows"] == N + 6 and pruned["bytes"] == 0 and pruned["kinds"] == {}
    # The root's store still points at the pruned contents: they are parsed again, the same.
    summary = cli("index", "--root", str(r.root), "--format", "json")
    assert summary["files"] == N + 3
    assert cli("cache", "--format", "json")["kinds"]["files"]["rows"] == N + 3
    bad = subprocess.run(
        [sys.executable, "-m", "rtk_lsp", "cache", "--stats", "--budget-mb", "1"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2 and "--budget-mb" in bad.stderr


CRASH = """
import os, signal, sys
from rtk_lsp.index import store, workspace
from rtk_lsp.index.content import ContentStore
from rtk_lsp.index.costs import costs
from rtk_lsp.settings import Settings

root, where = sys.argv[1], sys.argv[2]
costs().ms.update(pool_start=0.0, lexical_update=1e9)  # the bulk path, parser processes
costs().observe = lambda *a: None
ws = workspace.Workspace(root, Settings())
if where == "parse":  # the first records are back from the parser processes
    def progress(phase, done, total):
        if phase == "parse" and done > 0:
            os.kill(os.getpid(), signal.SIGKILL)
else:  # content rows written, path rows not yet
    progress = None
    def save_files(self, upserts, deletes):
        os.kill(os.getpid(), signal.SIGKILL)
    store.Store.save_files = save_files
ws.refresh(progress=progress)
"""


@pytest.mark.parametrize("where", ["parse", "store"])
def test_a_crash_in_the_middle_of_a_bulk_refresh_leaves_a_consistent_store(
    repo: tuple[GitRepo, str, str], where: str
) -> None:
    r, first, _ = repo
    ws = Workspace(str(r.root), Settings())
    ws.refresh()
    ws.close()
    del ws
    gc.collect()  # the restart below then holds nothing in memory: it reads the stores
    r.git("checkout", "-q", first)
    # A new process refreshes the switched checkout (bulk: most files changed) and dies in it.
    crashed = subprocess.run([sys.executable, "-c", CRASH, str(r.root), where], check=False, timeout=120)
    assert crashed.returncode == -9

    after = Workspace(str(r.root), Settings())
    assert facts(after.refresh()) == fresh(r.root)
    after.close()


def test_contents_held_in_memory_are_written_back_after_a_prune(
    repo: tuple[GitRepo, str, str], tmp_path: Path, cache_dir: Path
) -> None:
    r, _, _ = repo
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(r.root), str(clone)], check=True)
    a = Workspace(str(r.root), Settings())
    a.refresh()  # holds every content in this process
    ContentStore(str(cache_dir / "content.sqlite")).prune(budget=0)  # `rtk-lsp cache --prune` elsewhere

    b = Workspace(str(clone), Settings())
    snap_b = b.refresh()
    assert b.last_refresh["parsed"] == 0  # found in memory ...
    b.close()
    os.remove(db_path_for(str(clone)))  # every file read and looked up, as in test_two_roots_share_content
    built, parsed, reused = build_in_new_process(clone, use_store=True)
    assert parsed == 0 and reused == len(snap_b.files)  # ... and on the machine again
    assert built == fresh(clone)
    a.close()
