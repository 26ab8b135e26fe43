"""The machine-wide content store: commits by id, rows by format, the budget, and its faults."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from rtk_lsp.index import content
from rtk_lsp.index.commits import Commit
from rtk_lsp.index.content import ContentStore


def commit(i: int) -> Commit:
    return Commit(f"{i:040x}", 1000 + i, (f"f{i}.py",), f"subject {i}", (), (f"f{i}.py",))


def test_commits_round_trip_between_processes_of_one_format(tmp_path: Path) -> None:
    db = tmp_path / "content.sqlite"
    ContentStore(str(db)).put_commits({"a\0": commit(1), "b\0sub": commit(2)})
    again = ContentStore(str(db))
    assert again.get_commits(["a\0", "b\0sub", "missing\0"]) == {"a\0": commit(1), "b\0sub": commit(2)}
    assert stat.S_IMODE(os.stat(db).st_mode) == 0o600


def test_rows_of_another_version_are_never_read(tmp_path: Path) -> None:
    db = tmp_path / "content.sqlite"
    store = ContentStore(str(db))
    store.put("f", {"k": (1, 2)})
    # Another rtk-lsp version writes its own row under the same key: ours stays ours.
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO rows VALUES (?, 3, 0, ?)", ("f:0ther0format:k", b"\x00garbage"))
    assert store.get("f", ["k"]) == {"k": (1, 2)}
    assert store.stats()["kinds"]["other"] == {"rows": 1, "bytes": 3}


def test_a_different_layout_takes_the_file_over_and_the_old_process_runs_in_memory(tmp_path: Path) -> None:
    db = tmp_path / "content.sqlite"
    store = ContentStore(str(db))
    store.put("f", {"k": (1,)})
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE meta SET value = 'content-999' WHERE key = 'format'")
    assert store.get("f", ["k"]) == {}
    assert "another rtk-lsp version took it over" in store.note
    store.put("f", {"j": (2,)})  # no write either
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM rows WHERE key LIKE '%:j'").fetchone()[0] == 0


def test_corrupt_file_is_moved_aside_and_rebuilt(tmp_path: Path) -> None:
    db = tmp_path / "content.sqlite"
    db.write_bytes(b"this is not a database" * 100)
    store = ContentStore(str(db))
    assert "was corrupt" in store.note
    store.put("f", {"k": (1,)})
    assert store.get("f", ["k"]) == {"k": (1,)}
    assert list(tmp_path.glob("content.sqlite.corrupt-*"))


def test_a_write_refused_runs_in_memory_and_keeps_the_file(tmp_path: Path) -> None:
    db = tmp_path / "content.sqlite"
    store = ContentStore(str(db))
    store.put("f", {"k": (1,)})
    inode = db.stat().st_ino
    assert store._conn is not None
    store._conn.execute("PRAGMA query_only = 1")  # SQLite refuses writes: SQLITE_READONLY
    store.put("f", {"j": (2,)})
    assert "unavailable" in store.note and "SQLITE_READONLY" in store.note
    assert store.get("f", ["k"]) == {}  # memory only from now on
    assert db.stat().st_ino == inode and not list(tmp_path.glob("*.corrupt-*"))
    assert ContentStore(str(db)).get("f", ["k", "j"]) == {"k": (1,)}


def test_prune_drops_least_recently_used_rows_first(tmp_path: Path) -> None:
    store = ContentStore(str(tmp_path / "content.sqlite"), budget=10**9)
    for i in range(5):
        store.put("f", {f"k{i}": "x" * 1000})
    with sqlite3.connect(tmp_path / "content.sqlite") as conn:  # k0 oldest ... k4 newest, k1 used last
        for i in range(5):
            conn.execute("UPDATE rows SET used = ? WHERE key LIKE ?", (100 + i, f"%:k{i}"))
        conn.execute("UPDATE rows SET used = 200 WHERE key LIKE '%:k1'")
    size = store.stats()["kinds"]["files"]["bytes"] // 5
    assert store.prune(budget=size * 2) == (3, size * 3)
    assert set(store.get("f", [f"k{i}" for i in range(5)])) == {"k1", "k4"}
    assert store.stats()["kinds"]["files"] == {"rows": 2, "bytes": size * 2}


def test_the_budget_bounds_every_write(tmp_path: Path) -> None:
    store = ContentStore(str(tmp_path / "content.sqlite"), budget=5000)
    for i in range(20):
        store.put("f", {f"k{i}": "x" * 1000})
    assert store.stats()["bytes"] <= 5000
    assert "k19" in store.get("f", ["k19"])


def test_budget_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RTK_LSP_CACHE_BUDGET_MB", "2")
    assert content.budget_bytes() == 2 * 2**20
    monkeypatch.setenv("RTK_LSP_CACHE_BUDGET_MB", "nonsense")
    assert content.budget_bytes() == content.DEFAULT_BUDGET_MB * 2**20
