"""The warm state on real git repositories: scan, incremental refresh, store, history, graph."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from gitrepo import GitRepo

from rtk_lsp.index.snapshot import Snapshot
from rtk_lsp.index.store import Store
from rtk_lsp.index.workspace import Workspace
from rtk_lsp.paths import db_path_for
from rtk_lsp.settings import Settings


def build(root: Path, **settings: object) -> tuple[Workspace, Snapshot]:
    ws = Workspace(str(root), Settings().replace(**settings))
    return ws, ws.refresh()


def assert_consistent(snap: Snapshot) -> None:
    """The derived indexes agree with the files: nothing lost, nothing double-counted."""
    text = {p for p, r in snap.files.items() if r.is_text}
    assert set(snap.lexical.lengths["path"]) == text
    for field, plists in snap.lexical.postings.items():
        for term, plist in plists.items():
            assert plist, f"empty posting list {field}/{term}"
            assert set(plist) <= text
    defs: dict[str, set[str]] = {}
    for p, r in snap.files.items():
        for s in r.facts.symbols:
            defs.setdefault(s.name, set()).add(p)
    assert {k: set(v) for k, v in snap.graph.defs.items()} == defs
    fresh = Workspace(snap.root, Settings(), use_store=False).refresh()
    assert dict(snap.graph.calls_out) == dict(fresh.graph.calls_out)
    assert dict(snap.graph.imports_out) == dict(fresh.graph.imports_out)
    assert dict(snap.graph.imports_in) == dict(fresh.graph.imports_in)
    assert {k: dict(v) for k, v in snap.graph.calls_in.items()} == {
        k: dict(v) for k, v in fresh.graph.calls_in.items()
    }
    assert {k: dict(v) for k, v in snap.graph.refs.items()} == {
        k: dict(v) for k, v in fresh.graph.refs.items()
    }
    assert {f: dict(p) for f, p in snap.lexical.postings["body"].items()} == {
        f: dict(p) for f, p in fresh.lexical.postings["body"].items()
    }


def test_cold_build_indexes_files_symbols_edges_history(shop: GitRepo, tmp_path: Path) -> None:
    ws, snap = build(shop.root)
    assert set(snap.files) == {
        "README.md",
        "billing/__init__.py",
        "billing/invoice.py",
        "billing/tax.py",
        "users/__init__.py",
        "users/profile.py",
        "utils/strings.py",
    }
    names = {s.name for s in snap.files["billing/invoice.py"].facts.symbols}
    assert {"InvoiceCalculator", "apply_discount", "subtotal", "total"} <= names
    assert snap.graph.imports_out["billing/invoice.py"] == ("billing/tax.py",)
    assert "billing/tax.py" in snap.graph.calls_out["billing/invoice.py"]
    assert snap.history.head == shop.head
    assert len(snap.history.commits) == 2
    assert snap.history.counts["billing/tax.py"] == 2
    summary = snap.summary()
    assert summary["files"] == 7 and summary["languages"]["python"] == 6
    assert summary["edges"]["imports"] >= 1 and summary["edges"]["calls"] >= 1
    ws.close()


def test_incremental_edit_add_delete_rename(shop: GitRepo, tmp_path: Path) -> None:
    ws, first = build(shop.root)
    # edit: a new function; add: a new module calling it; delete: profile; rename: strings -> text
    shop.write(
        "billing/tax.py",
        (shop.root / "billing/tax.py").read_text() + "\n\ndef vat_rate(region):\n    return 0.2\n",
    )
    shop.write(
        "billing/report.py",
        "from billing.tax import vat_rate\n\n\ndef report():\n    return vat_rate('eu')\n",
    )
    (shop.root / "users/profile.py").unlink()
    shop.git("mv", "utils/strings.py", "utils/text.py")
    snap = ws.refresh()
    assert "users/profile.py" not in snap.files
    assert "utils/text.py" in snap.files and "utils/strings.py" not in snap.files
    assert "vat_rate" in {s.name for s in snap.files["billing/tax.py"].facts.symbols}
    assert snap.graph.imports_out["billing/report.py"] == ("billing/tax.py",)
    assert "billing/report.py" in snap.graph.calls_in["billing/tax.py"]
    assert snap.cache["misses"] == 3  # tax.py, report.py, text.py re-read; nothing else
    assert snap.generation == first.generation + 1
    assert_consistent(snap)


def test_targeted_refresh_only_looks_at_given_paths(shop: GitRepo, tmp_path: Path) -> None:
    ws, _ = build(shop.root)
    shop.write("users/profile.py", "def avatar_url(user):\n    return user.avatar\n")
    shop.write("utils/strings.py", "# changed but not announced\n")
    snap = ws.refresh(paths=[str(shop.root / "users/profile.py")])
    assert {s.name for s in snap.files["users/profile.py"].facts.symbols} == {"avatar_url"}
    assert snap.files["utils/strings.py"].facts.symbols  # unannounced change not seen yet
    assert snap.cache["misses"] == 1


def test_same_content_new_mtime_is_not_reparsed(shop: GitRepo, tmp_path: Path) -> None:
    ws, _ = build(shop.root)
    p = shop.root / "billing/tax.py"
    st = p.stat()
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 10_000_000))
    snap = ws.refresh()
    assert snap.cache["misses"] == 0 and snap.cache["hits"] == 7
    assert snap.files["billing/tax.py"].mtime_ns == st.st_mtime_ns + 10_000_000


def test_overlay_wins_over_disk_and_is_not_persisted(shop: GitRepo, tmp_path: Path) -> None:
    ws, _ = build(shop.root)
    ws.set_overlay("users/profile.py", "def loyalty_points(user):\n    return 3\n")
    snap = ws.refresh(paths=["users/profile.py"])
    assert {s.name for s in snap.files["users/profile.py"].facts.symbols} == {"loyalty_points"}
    ws.close()
    # a restart sees the disk, not the unsaved text
    _, again = build(shop.root)
    assert "loyalty_points" not in {s.name for s in again.files["users/profile.py"].facts.symbols}


def test_warm_restart_loads_store_and_reparses_only_changes(shop: GitRepo, tmp_path: Path) -> None:
    ws, _ = build(shop.root)
    ws.close()
    ws2, warm = build(shop.root)
    assert warm.cache["misses"] == 0 and warm.cache["hits"] == 7
    ws2.close()
    shop.write("utils/strings.py", "def shout(text):\n    return text.upper()\n")
    _, third = build(shop.root)
    assert third.cache["misses"] == 1
    assert {s.name for s in third.files["utils/strings.py"].facts.symbols} == {"shout"}
    assert_consistent(third)


def test_history_follows_head_forward_and_rewrite(shop: GitRepo, tmp_path: Path) -> None:
    ws, snap = build(shop.root)
    assert not ws.head_changed()
    shop.commit("profile: add nickname", {"users/profile.py": "def nickname():\n    return 'n'\n"})
    assert ws.head_changed()
    snap = ws.refresh()
    assert snap.history.head == shop.head and len(snap.history.commits) == 3
    shop.git("reset", "-q", "--hard", "HEAD~2")
    snap = ws.refresh()
    assert snap.history.head == shop.head and len(snap.history.commits) == 1
    assert snap.history.counts == {p: 1 for p in snap.history.counts}


def test_subdirectory_workspace_paths_are_relative_to_it(shop: GitRepo, tmp_path: Path) -> None:
    _, snap = build(shop.root / "billing")
    assert set(snap.files) == {"__init__.py", "invoice.py", "tax.py"}
    assert snap.history.counts["tax.py"] == 2


def test_non_git_directory_walks_and_honours_gitignore(tmp_path: Path) -> None:
    root = tmp_path / "plain"
    (root / "src").mkdir(parents=True)
    (root / "src/app.py").write_text("def main():\n    pass\n")
    (root / "src/gen.log").write_text("noise\n")
    (root / ".gitignore").write_text("*.log\nsecret/\n")
    (root / "secret").mkdir()
    (root / "secret/key.py").write_text("KEY = 1\n")
    (root / "node_modules/pkg").mkdir(parents=True)
    (root / "node_modules/pkg/index.js").write_text("module.exports = 1\n")
    _, snap = build(root)
    assert set(snap.files) == {".gitignore", "src/app.py"}
    assert snap.history.head is None and snap.history.note
    assert any("walking" in n for n in snap.notes)


def test_binary_huge_unreadable_and_invalid_utf8_files(shop: GitRepo, tmp_path: Path) -> None:
    shop.write("assets/logo.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00binary")
    shop.write("data/big.py", "x = 1\n" * 40_000)  # 240 KB > the 100 KB cap below
    shop.write("legacy/latin1.py", b"def caf\xe9():\n    return '\xe9'\n\ndef ok():\n    pass\n")
    locked = shop.write("secret.py", "TOKEN = 1\n")
    locked.chmod(0)
    try:
        _, snap = build(shop.root, max_file_size=100_000)
    finally:
        locked.chmod(0o644)
    assert snap.files["assets/logo.png"].kind == "binary"
    assert snap.files["data/big.py"].kind == "large" and not snap.files["data/big.py"].facts.symbols
    assert "ok" in {s.name for s in snap.files["legacy/latin1.py"].facts.symbols}
    if os.geteuid() != 0:  # root reads anything
        assert snap.files["secret.py"].kind == "unreadable"
    assert_consistent(snap)


def test_symlinks_never_lead_outside_and_loops_are_skipped(tmp_path: Path) -> None:
    outside = tmp_path / "outside.py"
    outside.write_text("def stolen():\n    pass\n")
    root = tmp_path / "plain"
    root.mkdir()
    (root / "inside.py").write_text("def mine():\n    pass\n")
    (root / "escape.py").symlink_to(outside)
    (root / "alias.py").symlink_to(root / "inside.py")
    (root / "loop_a").symlink_to(root / "loop_b")
    (root / "loop_b").symlink_to(root / "loop_a")
    (root / "dirloop").mkdir()
    (root / "dirloop/self").symlink_to(root / "dirloop")
    _, snap = build(root)
    assert set(snap.files) == {"inside.py", "alias.py"}


def test_corrupt_database_is_moved_aside_and_rebuilt(shop: GitRepo, tmp_path: Path, cache_dir: Path) -> None:
    ws, _ = build(shop.root)
    ws.close()
    db = Path(db_path_for(str(shop.root)))
    for suffix in ("-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    db.write_bytes(b"this is not a database" * 100)
    _, snap = build(shop.root)
    assert len(snap.files) == 7 and snap.cache["misses"] == 7
    assert any("corrupt" in n for n in snap.notes)
    assert any(p.name.startswith(db.name + ".corrupt-") for p in cache_dir.iterdir())
    assert Store(str(shop.root)).load_files().keys() == snap.files.keys()


def test_two_processes_refreshing_the_same_workspace(shop: GitRepo, tmp_path: Path, cache_dir: Path) -> None:
    for i in range(60):
        shop.write(f"pkg/mod{i}.py", f"def func_{i}(x):\n    return x + {i}\n")
    script = (
        "import sys; from rtk_lsp.index.workspace import Workspace; from rtk_lsp.settings import Settings\n"
        "for _ in range(3):\n"
        "    ws = Workspace(sys.argv[1], Settings()); s = ws.refresh(); ws.close()\n"
        "print(len(s.files))\n"
    )
    env = {**os.environ, "RTK_LSP_CACHE_DIR": str(cache_dir)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(shop.root)], env=env, stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert outs == ["67", "67"]
    stored = Store(str(shop.root)).load_files()
    assert len(stored) == 67
    _, snap = build(shop.root)
    assert snap.cache["misses"] == 0
    assert_consistent(snap)


def test_shallow_clone_and_detached_head(shop: GitRepo, tmp_path: Path) -> None:
    for i in range(4):
        shop.commit(f"change {i}", {"utils/strings.py": f"def f{i}():\n    pass\n"})
    clone = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "2", f"file://{shop.root}", str(clone)], check=True)
    _, snap = build(clone)
    assert len(snap.history.commits) <= 2 and "shallow" in snap.history.note
    shop.git("checkout", "-q", "--detach", "HEAD~1")
    _, detached = build(shop.root)
    assert detached.history.head == shop.head and len(detached.history.commits) == 5


def test_broken_git_repository_still_indexes(shop: GitRepo, tmp_path: Path) -> None:
    (shop.root / ".git/HEAD").write_text("garbage\n")
    _, snap = build(shop.root)
    assert len(snap.files) == 7
    assert snap.history.head is None and snap.history.note


def test_exclude_globs(shop: GitRepo, tmp_path: Path) -> None:
    _, snap = build(shop.root, exclude=("users/*", "*.md"))
    assert not any(p.startswith("users/") or p.endswith(".md") for p in snap.files)


def test_eight_languages_resolve_imports_in_one_repo(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "poly")
    repo.commit(
        "poly",
        {
            "py/app/__init__.py": "",
            "py/app/core.py": "from .util import helper\n\ndef run():\n    return helper()\n",
            "py/app/util.py": "def helper():\n    return 1\n",
            "web/index.ts": "import { greet } from './lib/greet';\nexport const hi = () => greet('x');\n",
            "web/lib/greet.ts": "export function greet(name: string): string { return name; }\n",
            "web/app.js": "const { greet } = require('./lib/greet');\nfunction main() { return greet('y'); }\n",
            "rs/src/main.rs": 'mod parser;\nuse crate::parser::parse_line;\nfn main() { parse_line("a"); }\n',
            "rs/src/parser.rs": "pub fn parse_line(s: &str) -> usize { s.len() }\n",
            "go.mod": "module example.com/poly\n\ngo 1.21\n",
            "gosrc/main.go": 'package main\n\nimport "example.com/poly/gosrc/store"\n\nfunc main() { store.Open() }\n',
            "gosrc/store/store.go": "package store\n\nfunc Open() error { return nil }\n",
            "java/src/main/java/com/acme/App.java": (
                "package com.acme;\n\nimport com.acme.util.Strings;\n\n"
                'public class App { void run() { Strings.pad("a"); } }\n'
            ),
            "java/src/main/java/com/acme/util/Strings.java": (
                "package com.acme.util;\n\npublic class Strings { public static String pad(String s) { return s; } }\n"
            ),
            "c/main.c": '#include "util.h"\n\nint main(void) { return add(1, 2); }\n',
            "c/util.h": "int add(int a, int b);\n",
            "c/util.c": '#include "util.h"\n\nint add(int a, int b) { return a + b; }\n',
            "cpp/shape.hpp": "class Shape { public: double area() const; };\n",
            "cpp/shape.cpp": '#include "shape.hpp"\n\ndouble Shape::area() const { return 1.0; }\n',
        },
    )
    _, snap = build(repo.root)
    imports = snap.graph.imports_out
    assert imports["py/app/core.py"] == ("py/app/util.py",)
    assert imports["web/index.ts"] == ("web/lib/greet.ts",)
    assert imports["web/app.js"] == ("web/lib/greet.ts",)
    assert imports["rs/src/main.rs"] == ("rs/src/parser.rs",)
    assert imports["gosrc/main.go"] == ("gosrc/store/store.go",)
    assert imports["java/src/main/java/com/acme/App.java"] == (
        "java/src/main/java/com/acme/util/Strings.java",
    )
    assert imports["c/main.c"] == ("c/util.h",)
    assert imports["cpp/shape.cpp"] == ("cpp/shape.hpp",)
    calls = snap.graph.calls_out
    assert "py/app/util.py" in calls["py/app/core.py"]
    assert "rs/src/parser.rs" in calls["rs/src/main.rs"]
    assert "gosrc/store/store.go" in calls["gosrc/main.go"]
    langs = snap.summary()["languages"]
    for lang in ("python", "typescript", "javascript", "rust", "go", "java", "c", "cpp"):
        assert langs.get(lang), lang


def test_targeted_refresh_of_created_and_deleted_directories(shop: GitRepo, tmp_path: Path) -> None:
    ws, _ = build(shop.root)
    shop.write("reports/monthly.py", "def monthly_report():\n    pass\n")
    shop.write("reports/yearly.py", "def yearly_report():\n    pass\n")
    snap = ws.refresh(paths=[str(shop.root / "reports")])
    assert {"reports/monthly.py", "reports/yearly.py"} <= set(snap.files)
    import shutil

    shutil.rmtree(shop.root / "users")
    snap = ws.refresh(paths=["users"])
    assert not any(p.startswith("users/") for p in snap.files)
    assert_consistent(snap)


def test_overlay_can_be_set_while_a_refresh_holds_the_lock(shop: GitRepo, tmp_path: Path) -> None:
    import threading

    ws, _ = build(shop.root)
    entered, release = threading.Event(), threading.Event()

    def slow_progress(phase: str, done: int, total: int) -> None:
        entered.set()
        release.wait(5)

    t = threading.Thread(target=lambda: ws.refresh(progress=slow_progress))
    t.start()
    assert entered.wait(5)
    done = threading.Event()
    threading.Thread(
        target=lambda: (ws.set_overlay("users/profile.py", "def vip():\n    pass\n"), done.set())
    ).start()
    assert done.wait(2), "set_overlay waited for the refresh lock"
    release.set()
    t.join(10)
    snap = ws.refresh(paths=[])
    assert {s.name for s in snap.files["users/profile.py"].facts.symbols} == {"vip"}


def test_warm_restart_reuses_stored_graph_edges(
    shop: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rtk_lsp.index import graph as graph_module

    ws, _ = build(shop.root)
    ws.close()
    shop.write(
        "utils/strings.py",
        "from billing.tax import tax_for\n\n\ndef taxed(x):\n    return tax_for('eu', x)\n",
    )

    def no_full_build(*args: object, **kwargs: object) -> None:
        raise AssertionError("the warm path rebuilt the whole graph")

    monkeypatch.setattr(graph_module.Graph, "build", classmethod(no_full_build))
    _, warm = build(shop.root)
    assert warm.graph.imports_out["utils/strings.py"] == ("billing/tax.py",)
    monkeypatch.undo()
    assert_consistent(warm)
