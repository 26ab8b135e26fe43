"""What the store and the episode log share about their SQLite files: which errors mean what,
and files only their owner reads (they hold paths, symbols and tasks of private code).

Standard library only: the Claude Code hook records outcomes through the episode log and must
not load the parsers the index store needs.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
from collections.abc import Callable
from typing import Literal, TypeVar

__all__ = ["ErrorKind", "describe", "error_kind", "private_dir", "private_file", "transaction"]

T = TypeVar("T")

ErrorKind = Literal["corrupt", "busy", "unavailable"]

_CORRUPT_CODES = frozenset({11, 26})  # SQLITE_CORRUPT, SQLITE_NOTADB
_BUSY_CODES = frozenset({5, 6})  # SQLITE_BUSY, SQLITE_LOCKED


def error_kind(exc: sqlite3.Error) -> ErrorKind:
    """ "corrupt", "busy" or "unavailable": only the first justifies throwing the file away."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:  # raised by Python's module itself (a closed connection, misuse)
        return "unavailable"
    primary = code & 0xFF
    return "corrupt" if primary in _CORRUPT_CODES else "busy" if primary in _BUSY_CODES else "unavailable"


def describe(exc: BaseException) -> str:
    name = getattr(exc, "sqlite_errorname", None) or type(exc).__name__
    return f"{name}: {exc}"


def private_dir(path: str) -> None:
    os.makedirs(path, mode=0o700, exist_ok=True)
    # Tighten the default folder an older version made 0755; a folder the user named is theirs.
    if os.path.basename(path.rstrip(os.sep)) == "rtk-lsp":
        st = os.stat(path)
        if st.st_uid == os.getuid() and st.st_mode & 0o077:
            os.chmod(path, 0o700)


def private_file(path: str) -> None:
    """Create the database file 0600 (SQLite gives its -wal and -shm files the same mode)."""
    fd = os.open(
        path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0), 0o600
    )
    try:
        st = os.fstat(fd)
        if stat.S_ISREG(st.st_mode) and st.st_mode & 0o077 and st.st_uid == os.getuid():
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(OSError):
            if os.lstat(path + suffix).st_mode & 0o077:
                os.chmod(path + suffix, 0o600)


def transaction(conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T], *, write: bool) -> T:
    """`fn(conn)` in one transaction: committed when it returns, rolled back when anything raises.

    A write takes the write lock at BEGIN, so that a busy database fails here, before any work."""
    conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
    try:
        result = fn(conn)
        conn.execute("COMMIT")
        return result
    finally:
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
