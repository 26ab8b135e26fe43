"""The machine-wide content store: what parsing produced, keyed by content; commits by id; call
graph edges by the set of file contents they were built from.

Every path, branch, worktree and clone on the machine with the same file content shares one
row of extracted facts; a root's own store (`store.Store`) only points at them. Commits are
immutable, so what a commit changed is kept by its id, for every worktree of a repository.

It is one SQLite file beside the roots' stores and degrades exactly as they do (see
`store.Database`): corrupt, moved aside and rebuilt; full disk or read-only, this process
runs on in memory; 0700 folder, 0600 file. Rows are keyed with the format of the code that
made them (`ROW_FORMAT`), so two rtk-lsp versions share the file without ever reading each
other's rows; a different table layout (`LAYOUT`) takes the file over as a root store's
format stamp does. A budget bounds the file: least recently used rows go first.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterable, Mapping
from typing import Any

from rtk_lsp.index import commits, history
from rtk_lsp.index.commits import WIRE_VERSION, Commit
from rtk_lsp.index.store import FORMAT as EXTRACTOR_FORMAT
from rtk_lsp.index.store import Database, code_digest
from rtk_lsp.paths import cache_dir

__all__ = ["DEFAULT_BUDGET_MB", "ContentStore", "acquire", "budget_bytes", "live", "release"]

LAYOUT = 1
# What rows hold and the code that made them: rows of another format are never read.
ROW_FORMAT = hashlib.sha1(
    f"{EXTRACTOR_FORMAT}:{WIRE_VERSION}:{code_digest((commits, history))}".encode()
).hexdigest()[:12]
DEFAULT_BUDGET_MB = 1024
# A row's last use is written at most this often: a warm start must not rewrite every row.
TOUCH_EVERY_S = 3600.0
_CHUNK = 500  # keys per query (SQLite's default limit of variables is 32766; keep queries small)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rows (key TEXT PRIMARY KEY, size INTEGER NOT NULL, used REAL NOT NULL,
    data BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS rows_used ON rows (used);
"""

_KINDS = {"f": "files", "c": "commits", "g": "graphs"}


def budget_bytes() -> int:
    """The store's size budget: `RTK_LSP_CACHE_BUDGET_MB`, else 1024 MB."""
    try:
        mb = float(os.environ.get("RTK_LSP_CACHE_BUDGET_MB", ""))
    except ValueError:
        mb = DEFAULT_BUDGET_MB
    return int((mb if mb > 0 else DEFAULT_BUDGET_MB) * 2**20)


class ContentStore(Database):
    label = "content store"
    schema = _SCHEMA
    cleared = ("rows",)
    format = f"content-{LAYOUT}"

    def __init__(self, path: str | None = None, budget: int | None = None) -> None:
        super().__init__(path or os.path.join(cache_dir(), "content.sqlite"))
        self.budget = budget_bytes() if budget is None else budget
        # The rows' bytes as last counted plus what this process wrote since (other processes'
        # writes show at the next count): an edit's refresh must not sum the whole table.
        self._bytes: int | None = None

    # ---- rows by key ---------------------------------------------------------------------------

    def get(self, kind: str, keys: Iterable[str]) -> dict[str, Any]:
        """The unmarshalled rows of `kind` under `keys` that this format wrote (missing keys left out)."""
        prefix = f"{kind}:{ROW_FORMAT}:"
        wanted = [prefix + k for k in dict.fromkeys(keys)]
        if not wanted:
            return {}
        stale_before = time.time() - TOUCH_EVERY_S

        def go(conn: sqlite3.Connection) -> tuple[dict[str, bytes], list[str]]:
            found: dict[str, bytes] = {}
            stale: list[str] = []
            for i in range(0, len(wanted), _CHUNK):
                chunk = wanted[i : i + _CHUNK]
                marks = ",".join("?" * len(chunk))
                for key, used, data in conn.execute(
                    f"SELECT key, used, data FROM rows WHERE key IN ({marks})", chunk
                ):
                    found[key[len(prefix) :]] = data
                    if used < stale_before:
                        stale.append(key)
            return found, stale

        none: tuple[dict[str, bytes], list[str]] = ({}, [])
        found, stale = self._run(go, none)
        if stale:
            now = time.time()
            self._run(
                lambda conn: conn.executemany(
                    "UPDATE rows SET used = ? WHERE key = ?", [(now, k) for k in stale]
                ),
                None,
                write=True,
            )
        out: dict[str, Any] = {}
        for key, data in found.items():
            try:
                out[key] = marshal.loads(data)
            except (ValueError, EOFError, TypeError):
                continue  # unreadable: made again by the caller
        return out

    def missing(self, kind: str, keys: Iterable[str]) -> set[str]:
        """Which of `keys` this format has no row of (all of them when the store is unavailable)."""
        prefix = f"{kind}:{ROW_FORMAT}:"
        wanted = [prefix + k for k in dict.fromkeys(keys)]

        def go(conn: sqlite3.Connection) -> set[str]:
            held: set[str] = set()
            for i in range(0, len(wanted), _CHUNK):
                chunk = wanted[i : i + _CHUNK]
                marks = ",".join("?" * len(chunk))
                held.update(k for (k,) in conn.execute(f"SELECT key FROM rows WHERE key IN ({marks})", chunk))
            return {k[len(prefix) :] for k in wanted if k not in held}

        return self._run(go, {k[len(prefix) :] for k in wanted}) if wanted else set()

    def put(self, kind: str, rows: Mapping[str, Any]) -> None:
        """Store `rows` of `kind`, then trim the file to its budget."""
        prefix = f"{kind}:{ROW_FORMAT}:"
        now = time.time()
        data = [(prefix + k, marshal.dumps(v)) for k, v in rows.items()]
        if not data:
            return
        self._run(
            lambda conn: conn.executemany(
                "INSERT OR REPLACE INTO rows VALUES (?, ?, ?, ?)", [(k, len(d), now, d) for k, d in data]
            ),
            None,
            write=True,
        )
        if self._bytes is not None:
            self._bytes += sum(len(d) for _, d in data)
        if self._bytes is None or self._bytes > self.budget:
            self.prune()

    # ---- commits (history.CommitCache) ----------------------------------------------------------

    def get_commits(self, keys: Iterable[str]) -> dict[str, Commit]:
        out = {}
        for key, row in self.get("c", keys).items():
            try:
                out[key] = Commit.from_tuple(row)
            except (ValueError, TypeError):
                continue
        return out

    def put_commits(self, commits: Mapping[str, Commit]) -> None:
        self.put("c", {k: c.to_tuple() for k, c in commits.items()})

    # ---- size ---------------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Rows and bytes by kind (rows of other rtk-lsp versions as "other"), and the budget."""

        def go(conn: sqlite3.Connection) -> dict[str, dict[str, int]]:
            out: dict[str, dict[str, int]] = {}
            for key, size in conn.execute("SELECT key, size FROM rows"):
                kind, fmt, _ = key.split(":", 2)
                name = _KINDS.get(kind, "other") if fmt == ROW_FORMAT else "other"
                entry = out.setdefault(name, {"rows": 0, "bytes": 0})
                entry["rows"] += 1
                entry["bytes"] += size
            return out

        empty: dict[str, dict[str, int]] = {}
        kinds = self._run(go, empty)
        try:
            file_bytes = sum(
                os.path.getsize(self.path + suffix)
                for suffix in ("", "-wal")
                if os.path.exists(self.path + suffix)
            )
        except OSError:
            file_bytes = 0
        return {
            "path": self.path,
            "budget_bytes": self.budget,
            "bytes": sum(k["bytes"] for k in kinds.values()),
            "file_bytes": file_bytes,
            "kinds": kinds,
            "available": self._conn is not None,
            "note": self.note,
        }

    def prune(self, budget: int | None = None) -> tuple[int, int]:
        """Delete least recently used rows until the rows fit `budget` (the store's own by default);
        returns the rows and bytes deleted."""
        limit = self.budget if budget is None else max(0, budget)

        def go(conn: sqlite3.Connection) -> tuple[int, int]:
            total = conn.execute("SELECT coalesce(sum(size), 0) FROM rows").fetchone()[0]
            self._bytes = total
            if total <= limit:
                return 0, 0
            doomed: list[tuple[str]] = []
            freed = 0
            for key, size in conn.execute("SELECT key, size FROM rows ORDER BY used, key"):
                if total - freed <= limit:
                    break
                doomed.append((key,))
                freed += size
            conn.executemany("DELETE FROM rows WHERE key = ?", doomed)
            self._bytes = total - freed
            return len(doomed), freed

        return self._run(go, (0, 0), write=True)


_shared: dict[str, tuple[ContentStore, int]] = {}  # by path: the store and how many hold it
_shared_lock = threading.Lock()


def acquire() -> ContentStore:
    """This process's content store (one per cache folder), shared by every workspace here;
    `release` it when done: the last release closes the file (a cache folder may be unmounted)."""
    path = os.path.join(cache_dir(), "content.sqlite")
    with _shared_lock:
        store, users = _shared.get(path) or (None, 0)
        if store is None:
            store = ContentStore(path)
        _shared[path] = (store, users + 1)
        return store


def release(store: ContentStore) -> None:
    with _shared_lock:
        held, users = _shared.get(store.path) or (None, 0)
        if held is not store:
            store.close()
        elif users <= 1:
            del _shared[store.path]
            store.close()
        else:
            _shared[store.path] = (store, users - 1)


# Records by content key that some workspace of this process holds: another path, root or
# refresh with the same content shares their facts and terms instead of a copy.
live: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()
