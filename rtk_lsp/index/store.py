"""SQLite persistence of a workspace's index, one database per workspace root.

A root's rows are paths with their stat, each pointing at its content's row in the
machine-wide content store (`content.py`, built on `Database` below).

WAL mode lets a second process (the CLI beside a running server) read while one
writes; every write is one short transaction of idempotent upserts, so two
processes refreshing the same workspace converge on the same rows. The index is a
cache, never the truth, so trouble with the database degrades, it never fails a refresh:

* SQLITE_CORRUPT / SQLITE_NOTADB: the file is moved aside (`*.corrupt-<time>`, only the
  newest such copy is kept) and a fresh database is built;
* SQLITE_BUSY / SQLITE_LOCKED: another process holds it; this write is skipped;
* anything else (a full disk, a read-only cache, a file that cannot be opened, an I/O
  error): the file is kept as it is and this process runs on in memory, with a warning
  and a note in the snapshot;
* the format stamp is checked in every transaction: when another rtk-lsp version has
  taken the database over, this process stops reading and writing it;
* a database deleted (or replaced) while in use is noticed at the next transaction,
  recreated, and refilled by the workspace.

The database holds paths, symbols and commit subjects of private code: its directory is
created 0700 and its files 0600.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import logging
import marshal
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any, NamedTuple, TypeVar

from rtk_lsp.index.analyze import content_key
from rtk_lsp.index.dbfile import describe, error_kind, private_dir, private_file, transaction
from rtk_lsp.model import FileRecord
from rtk_lsp.paths import db_path_for

log = logging.getLogger(__name__)

T = TypeVar("T")

# Bump when the shape of stored rows or the extraction logic changes: old rows are then rebuilt.
# 5: paths are stored as bytes (file names need not be UTF-8); 6: rows point at content (content.py)
SCHEMA_VERSION = 6


def code_digest(modules: Iterable[ModuleType]) -> str:
    """A digest of the code of `modules` (a package counts with every module in it)."""
    h = hashlib.sha1()
    for module in modules:
        path = module.__file__ or ""
        paths = [path] if not path.endswith("__init__.py") else _package_files(os.path.dirname(path))
        for name in paths:
            with open(name, "rb") as f:
                h.update(f.read())
    return h.hexdigest()[:12]


def _extractor_digest() -> str:
    """A digest of the code that turns files into rows (and rows into stored graph edges):
    any change to it invalidates stored rows."""
    from rtk_lsp import model, text
    from rtk_lsp.index import analyze, graph, languages, parse, resolve, scan

    return code_digest((analyze, graph, languages, model, parse, resolve, scan, text))


def _package_files(directory: str) -> list[str]:
    return [os.path.join(directory, n) for n in sorted(os.listdir(directory)) if n.endswith(".py")]


# marshal's format is tied to the interpreter; a different one rebuilds rather than misreads.
FORMAT = (
    f"{SCHEMA_VERSION}:{marshal.version}:{sys.version_info[0]}.{sys.version_info[1]}:{_extractor_digest()}"
)
EVENTS_MAX_AGE_S = 7 * 24 * 3600
EVENTS_MAX_ROWS = 5000

# SQLite's primary result codes (the low byte of `sqlite_errorcode`).

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (path BLOB PRIMARY KEY, hash TEXT NOT NULL, size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL, kind TEXT NOT NULL, content TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS history (head TEXT PRIMARY KEY, created REAL NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS events (ts REAL NOT NULL, kind TEXT NOT NULL, detail TEXT NOT NULL,
    ms REAL NOT NULL);
CREATE INDEX IF NOT EXISTS events_ts ON events (ts);
"""


class StoredFile(NamedTuple):
    rel_path: str
    hash: str
    size: int
    mtime_ns: int
    kind: str
    content: str  # the key of its row in the content store, "" for none


def _key(path: str) -> bytes:
    return path.encode("utf-8", errors="surrogateescape")


class Database:
    """One SQLite cache file and what to do when it is in trouble (see the module's doc).

    Methods never raise for database trouble: they log and degrade. A subclass names its
    tables (`schema`), the ones a new format clears (`cleared`) and its format stamp.
    """

    label = "index store"
    schema = _SCHEMA
    cleared: tuple[str, ...] = ("files", "history")
    format = FORMAT

    def __init__(self, path: str, root: str = "") -> None:
        self.root = root
        self.path = path
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._identity: tuple[int, int] | None = None
        self.note = ""  # the store's condition when it is not plain "in use": for the snapshot's notes
        self._recreated = False
        self._open()

    # ---- connection ---------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        private_dir(os.path.dirname(self.path))
        private_file(self.path)
        conn = sqlite3.connect(self.path, timeout=10.0, check_same_thread=False, isolation_level=None)
        try:
            conn.execute("PRAGMA busy_timeout = 10000")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.executescript(self.schema)
            row = conn.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
            if row is None or row[0] != self.format:
                # Idempotent migration: rows of another format are a cache we can rebuild, so clear them.
                conn.execute("BEGIN IMMEDIATE")
                for table in self.cleared:
                    conn.execute(f"DELETE FROM {table}")
                conn.execute("INSERT OR REPLACE INTO meta VALUES ('format', ?)", (self.format,))
                conn.execute("INSERT OR REPLACE INTO meta VALUES ('root', ?)", (self.root,))
                conn.execute("COMMIT")
            st = os.stat(self.path)
        except BaseException:
            conn.close()
            raise
        self._identity = (st.st_dev, st.st_ino)
        return conn

    def _open(self) -> None:
        try:
            self._conn = self._connect()
        except sqlite3.Error as e:
            self._failed(e)
        except OSError as e:
            self._unavailable(f"{type(e).__name__}: {e}")

    def _failed(self, error: sqlite3.Error) -> None:
        kind = error_kind(error)
        if kind == "corrupt":
            self._quarantine(error)
        elif kind == "busy" and self._conn is not None:
            log.info("%s busy: %s", self.label, error)
        else:
            self._unavailable(describe(error))

    def _drop_connection(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None

    def _unavailable(self, reason: str) -> None:
        """Run in memory from now on; the file stays exactly as it is."""
        self._drop_connection()
        self.note = f"{self.label} unavailable ({reason}); running in memory only"
        log.warning(
            "%s %s unavailable (%s); running in memory only, the file is kept", self.label, self.path, reason
        )

    def _quarantine(self, error: Exception) -> None:
        """Move an unreadable database aside (keeping only the newest such copy) and start afresh."""
        self._drop_connection()
        aside = f"{self.path}.corrupt-{int(time.time())}"
        log.warning("%s %s is corrupt (%s); moved to %s and rebuilding", self.label, self.path, error, aside)
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(OSError):
                os.replace(self.path + suffix, aside + suffix)
        for old in glob.glob(glob.escape(self.path) + ".corrupt-*"):
            if not old.startswith(aside):
                with contextlib.suppress(OSError):
                    os.unlink(old)
        try:
            self._conn = self._connect()
        except (sqlite3.Error, OSError) as e:
            self._unavailable(f"cannot be recreated: {describe(e)}")
            return
        self.note = f"{self.label} was corrupt ({error}); rebuilt"

    def _check_file(self) -> None:
        """Notice a database deleted or replaced under us, and reconnect."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            st = None
        except OSError:
            return  # cannot tell: carry on with the connection we have
        if st is not None and (st.st_dev, st.st_ino) == self._identity:
            return
        log.warning("%s %s was deleted or replaced while in use; reopening it", self.label, self.path)
        self._drop_connection()
        self._open()
        self._recreated = self._conn is not None

    def take_recreated(self) -> bool:
        """True once after the database was recreated under this store: the caller re-saves its rows."""
        with self._lock:
            recreated, self._recreated = self._recreated, False
            return recreated

    def _run(self, fn: Callable[[sqlite3.Connection], T], default: T, *, write: bool = False) -> T:
        """`fn` in one transaction on a database still stamped with our format; `default` on trouble."""
        with self._lock:
            if self._conn is None:
                return default
            self._check_file()
            conn = self._conn
            if conn is None:
                return default
            taken_over = False

            def ours(c: sqlite3.Connection) -> T:
                nonlocal taken_over
                row = c.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
                if row is None or row[0] != self.format:
                    taken_over = True  # nothing was written: committing the read changes nothing
                    return default
                return fn(c)

            try:
                return transaction(conn, ours, write=write)
            except sqlite3.Error as e:
                self._failed(e)
                return default
            finally:
                if taken_over:
                    self._unavailable("another rtk-lsp version took it over")

    def close(self) -> None:
        with self._lock:
            self._drop_connection()


class Store(Database):
    """The persisted index of one root."""

    def __init__(self, root: str, path: str | None = None) -> None:
        super().__init__(path or db_path_for(root), os.path.realpath(root))

    # ---- files --------------------------------------------------------------------------------

    def load_files(self) -> dict[str, StoredFile]:
        """The files as last saved: their stat and which content they hold (`content_key`)."""

        def go(conn: sqlite3.Connection) -> dict[str, StoredFile]:
            out = {}
            for path, digest, size, mtime_ns, kind, key in conn.execute("SELECT * FROM files"):
                rel = bytes(path).decode("utf-8", errors="surrogateescape")
                out[rel] = StoredFile(rel, digest, size, mtime_ns, kind, key)
            return out

        return self._run(go, {})

    def save_files(self, upserts: Iterable[FileRecord], deletes: Iterable[str]) -> None:
        rows = [
            (
                _key(r.rel_path),
                r.hash,
                r.size,
                r.mtime_ns,
                r.kind,
                content_key(r.rel_path, r.kind, r.hash) or "",
            )
            for r in upserts
        ]
        dels = [(_key(p),) for p in deletes]
        if not rows and not dels:
            return

        def go(conn: sqlite3.Connection) -> None:
            conn.executemany("DELETE FROM files WHERE path = ?", dels)
            conn.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?)", rows)

        self._run(go, None, write=True)

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
            conn.execute("INSERT OR REPLACE INTO history VALUES (?, ?, ?)", (head, time.time(), data))
            # keep a few recent HEADs: switching back to a branch is then free
            conn.execute(
                "DELETE FROM history WHERE head NOT IN (SELECT head FROM history ORDER BY created DESC LIMIT 4)"
            )

        self._run(go, None, write=True)

    # ---- events -------------------------------------------------------------------------------

    def record_event(self, kind: str, detail: str = "", ms: float = 0.0) -> None:
        def go(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT INTO events VALUES (?, ?, ?, ?)", (time.time(), kind, detail, ms))
            conn.execute("DELETE FROM events WHERE ts < ?", (time.time() - EVENTS_MAX_AGE_S,))
            conn.execute(
                "DELETE FROM events WHERE rowid <= (SELECT max(rowid) FROM events) - ?",
                (EVENTS_MAX_ROWS,),
            )

        self._run(go, None, write=True)
