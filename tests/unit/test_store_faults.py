"""The store's error taxonomy, with errors raised at the SQLite layer (tests/e2e/test_faults.py
makes the real ones: a full disk and a read-only cache on a tmpfs, a path that cannot be opened).

Only SQLITE_CORRUPT and SQLITE_NOTADB mean the file is lost; everything else keeps it untouched
and runs in memory.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from rtk_lsp.index.store import Store
from rtk_lsp.model import EMPTY_FACTS, FileRecord


def corrupt_copies(db: Path) -> list[Path]:
    return sorted(db.parent.glob(db.name + ".corrupt-*"))


class FailingConnection:
    """Stands in for the store's sqlite3 connection and fails every statement with `code`."""

    def __init__(self, conn: sqlite3.Connection, code: int, name: str) -> None:
        self._conn, self._code, self._name = conn, code, name
        self.in_transaction = False

    def _fail(self, *args: Any, **kwargs: Any) -> Any:
        exc = sqlite3.OperationalError(f"simulated {self._name}")
        exc.sqlite_errorcode = self._code  # type: ignore[attr-defined]
        exc.sqlite_errorname = self._name  # type: ignore[attr-defined]
        raise exc

    execute = executemany = executescript = _fail

    def __enter__(self) -> FailingConnection:
        return self

    def __exit__(self, *exc: object) -> bool:
        return False

    def close(self) -> None:
        self._conn.close()


def record(path: str) -> FileRecord:
    return FileRecord(path, "python", 10, 1, "h-" + path, "text", 1, 3, EMPTY_FACTS, {"x": 1}, {})


@pytest.fixture
def store_root(tmp_path: Path) -> Path:
    root = tmp_path / "ws"  # its store goes to the test's own cache (conftest.py)
    root.mkdir()
    return root


@pytest.mark.parametrize(
    "code,name",
    [
        (13, "SQLITE_FULL"),
        (8, "SQLITE_READONLY"),
        (14, "SQLITE_CANTOPEN"),
        (10, "SQLITE_IOERR"),
        (778, "SQLITE_IOERR_WRITE"),
    ],
)
def test_store_errors_other_than_corruption_keep_the_file(store_root: Path, code: int, name: str) -> None:
    store = Store(str(store_root))
    store.save_files([record("a.py")], [])
    db = Path(store.path)
    inode = db.stat().st_ino
    assert store._conn is not None
    store._conn = FailingConnection(store._conn, code, name)  # type: ignore[assignment]
    store.save_files([record("b.py")], [])
    assert store._conn is None and "running in memory only" in store.note and name in store.note
    store.save_files([record("c.py")], [])  # memory only from now on: nothing raised, nothing written
    assert db.stat().st_ino == inode and corrupt_copies(db) == []
    assert set(Store(str(store_root)).load_files()) == {"a.py"}


@pytest.mark.parametrize("code,name", [(11, "SQLITE_CORRUPT"), (26, "SQLITE_NOTADB")])
def test_corruption_is_moved_aside_keeping_one_copy(store_root: Path, code: int, name: str) -> None:
    store = Store(str(store_root))
    db = Path(store.path)
    for stamp in ("1000", "2000", "3000"):  # copies left by earlier corruptions
        Path(f"{db}.corrupt-{stamp}").write_bytes(b"old")
    store.save_files([record("a.py")], [])
    assert store._conn is not None
    store._conn = FailingConnection(store._conn, code, name)  # type: ignore[assignment]
    store.save_files([record("b.py")], [])
    copies = {p.name.removesuffix("-wal").removesuffix("-shm") for p in corrupt_copies(db)}
    assert len(copies) == 1 and not copies & {f"{db.name}.corrupt-{t}" for t in ("1000", "2000", "3000")}
    assert "corrupt" in store.note and store._conn is not None
    store.save_files([record("c.py")], [])
    assert set(Store(str(store_root)).load_files()) == {"c.py"}  # rebuilt from scratch
