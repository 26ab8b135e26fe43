"""SQLite persistence of a workspace's index, one database per workspace root.

WAL mode lets a second process (the CLI beside a running server) read while one
writes; every write is one short transaction of idempotent upserts, so two
processes refreshing the same workspace converge on the same rows. A database that
cannot be read is moved aside and rebuilt: the index is a cache, never the truth.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import marshal
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Iterable
from typing import Any

from rtk_lsp.model import FileRecord
from rtk_lsp.paths import db_path_for

log = logging.getLogger(__name__)

# Bump when the shape of stored rows or the extraction logic changes: old rows are then rebuilt.
SCHEMA_VERSION = 4


def _extractor_digest() -> str:
    """A digest of the code that turns files into rows (and rows into stored graph edges):
    any change to it invalidates stored rows."""
    from rtk_lsp import model, text
    from rtk_lsp.index import analyze, graph, languages, parse, resolve, scan

    h = hashlib.sha1()
    for module in (analyze, graph, languages, model, parse, resolve, scan, text):
        path = module.__file__ or ""
        # a package counts with every module in it
        paths = [path] if not path.endswith("__init__.py") else _package_files(os.path.dirname(path))
        for name in paths:
            with open(name, "rb") as f:
                h.update(f.read())
    return h.hexdigest()[:12]


def _package_files(directory: str) -> list[str]:
    return [os.path.join(directory, n) for n in sorted(os.listdir(directory)) if n.endswith(".py")]


# marshal's format is tied to the interpreter; a different one rebuilds rather than misreads.
_FORMAT = (
    f"{SCHEMA_VERSION}:{marshal.version}:{sys.version_info[0]}.{sys.version_info[1]}:{_extractor_digest()}"
)
EVENTS_MAX_AGE_S = 7 * 24 * 3600
EVENTS_MAX_ROWS = 5000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, hash TEXT NOT NULL, size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS derived (key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS history (head TEXT PRIMARY KEY, created REAL NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS events (ts REAL NOT NULL, kind TEXT NOT NULL, detail TEXT NOT NULL,
    ms REAL NOT NULL);
CREATE INDEX IF NOT EXISTS events_ts ON events (ts);
"""


class Store:
    """The persisted index of one root. Methods never raise for database trouble: they log and degrade."""

    def __init__(self, root: str, path: str | None = None) -> None:
        self.root = os.path.realpath(root)
        self.path = path or db_path_for(root)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self.note = ""
        self._open()

    # ---- connection ---------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=10.0, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA busy_timeout = 10000")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.executescript(_SCHEMA)
        row = conn.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        if row is None or row[0] != _FORMAT:
            # Idempotent migration: rows of another format are a cache we can rebuild, so clear them.
            with conn:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("DELETE FROM files")
                conn.execute("DELETE FROM history")
                conn.execute("DELETE FROM derived")
                conn.execute("INSERT OR REPLACE INTO meta VALUES ('format', ?)", (_FORMAT,))
                conn.execute("INSERT OR REPLACE INTO meta VALUES ('root', ?)", (self.root,))
        return conn

    def _open(self) -> None:
        try:
            self._conn = self._connect()
        except sqlite3.DatabaseError as e:
            self._quarantine(e)
        except OSError as e:
            log.warning("index store unavailable (%s); running in memory only", e)
            self.note = f"store unavailable: {e}"
            self._conn = None

    def _quarantine(self, error: Exception) -> None:
        """Move an unreadable database aside and start a fresh one."""
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None
        aside = f"{self.path}.corrupt-{int(time.time())}"
        log.warning("index store %s is unreadable (%s); moved to %s and rebuilding", self.path, error, aside)
        self.note = f"store was corrupt ({error}); rebuilt"
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(OSError):
                os.replace(self.path + suffix, aside + suffix)
        try:
            self._conn = self._connect()
        except (sqlite3.DatabaseError, OSError) as e:
            log.warning("index store cannot be recreated (%s); running in memory only", e)
            self._conn = None

    def _run(self, fn: Any, default: Any) -> Any:
        with self._lock:
            if self._conn is None:
                return default
            try:
                return fn(self._conn)
            except sqlite3.DatabaseError as e:
                if isinstance(e, sqlite3.OperationalError) and "locked" in str(e):
                    log.info("index store busy: %s", e)
                    return default
                self._quarantine(e)
                return default

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                try:
                    self._conn.close()
                finally:
                    self._conn = None

    # ---- files --------------------------------------------------------------------------------

    def load_files(self) -> dict[str, FileRecord]:
        def go(conn: sqlite3.Connection) -> dict[str, FileRecord]:
            out = {}
            for path, data in conn.execute("SELECT path, data FROM files"):
                try:
                    out[path] = FileRecord.from_row(marshal.loads(data))
                except (ValueError, EOFError, TypeError) as e:
                    log.info("dropping unreadable stored row for %s: %s", path, e)
            return out

        result: dict[str, FileRecord] = self._run(go, {})
        return result

    def save_files(self, upserts: Iterable[FileRecord], deletes: Iterable[str]) -> None:
        rows = [(r.rel_path, r.hash, r.size, r.mtime_ns, marshal.dumps(r.to_row())) for r in upserts]
        dels = [(p,) for p in deletes]
        if not rows and not dels:
            return

        def go(conn: sqlite3.Connection) -> None:
            with conn:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?)", rows)
                conn.executemany("DELETE FROM files WHERE path = ?", dels)

        self._run(go, None)

    # ---- derived data (the call graph's edges) -------------------------------------------------

    def load_derived(self, key: str, fingerprint: str) -> Any:
        """What `save_derived` stored under `key` for exactly this fingerprint, else None."""

        def go(conn: sqlite3.Connection) -> Any:
            row = conn.execute("SELECT fingerprint, data FROM derived WHERE key = ?", (key,)).fetchone()
            return marshal.loads(row[1]) if row and row[0] == fingerprint else None

        try:
            return self._run(go, None)
        except (ValueError, EOFError, TypeError):
            return None

    def save_derived(self, key: str, fingerprint: str, wire: Any) -> None:
        data = marshal.dumps(wire)

        def go(conn: sqlite3.Connection) -> None:
            with conn:
                conn.execute("INSERT OR REPLACE INTO derived VALUES (?, ?, ?)", (key, fingerprint, data))

        self._run(go, None)

    # ---- history ------------------------------------------------------------------------------

    def load_history(self) -> Any:
        """The newest stored history (as `History.to_wire()` data), or None."""

        def go(conn: sqlite3.Connection) -> Any:
            row = conn.execute("SELECT data FROM history ORDER BY created DESC LIMIT 1").fetchone()
            return marshal.loads(row[0]) if row else None

        try:
            return self._run(go, None)
        except (ValueError, EOFError, TypeError):
            return None

    def save_history(self, head: str, wire: Any) -> None:
        data = marshal.dumps(wire)

        def go(conn: sqlite3.Connection) -> None:
            with conn:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("INSERT OR REPLACE INTO history VALUES (?, ?, ?)", (head, time.time(), data))
                # keep a few recent HEADs: switching back to a branch is then free
                conn.execute(
                    "DELETE FROM history WHERE head NOT IN "
                    "(SELECT head FROM history ORDER BY created DESC LIMIT 4)"
                )

        self._run(go, None)

    # ---- events -------------------------------------------------------------------------------

    def record_event(self, kind: str, detail: str = "", ms: float = 0.0) -> None:
        def go(conn: sqlite3.Connection) -> None:
            with conn:
                conn.execute("INSERT INTO events VALUES (?, ?, ?, ?)", (time.time(), kind, detail, ms))
                conn.execute("DELETE FROM events WHERE ts < ?", (time.time() - EVENTS_MAX_AGE_S,))
                conn.execute(
                    "DELETE FROM events WHERE rowid <= (SELECT max(rowid) FROM events) - ?",
                    (EVENTS_MAX_ROWS,),
                )

        self._run(go, None)
