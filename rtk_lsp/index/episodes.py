"""The episode log of a root: each plan served, and what the agent then read and edited.

It lives in the root's index database (`paths.db_path_for`), in two tables of its own. The
index's tables are a cache; these are a record: the format check that clears cached rows
leaves them alone, and they are read and written without loading the index (the Claude
Code hook writes outcomes from a short-lived process of its own). Standard library only.

What a row holds, and nothing more (the README's "Is it helping?" says the same to users):

- `episodes`: the time, the root, the door (lsp, http, mcp, cli), the session id the client
  gave (if any), a digest of the task and its first line (the whole task only when the user
  asked for it), the budget, the tokens the plan used, its confidence when the plan has one,
  the milliseconds it took, and the selected paths, each with the tokens it cost in the plan
  and the tokens of reading the whole file;
- `outcomes`: for an episode, a path relative to the root that the agent then read or
  edited, who saw it (the hook or the MCP server) and when.

Trouble follows the index store's rule: a busy database skips one write; anything else (a
full disk, a read-only cache, a file that cannot be opened, corruption, which the store
handles) stops recording in this process, with one warning. Nothing here raises.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar
from urllib.parse import quote

from rtk_lsp.index.dbfile import describe, error_kind, private_dir, private_file, transaction
from rtk_lsp.paths import db_path_for

__all__ = [
    "MAX_AGE_DAYS",
    "MAX_EPISODES",
    "MAX_OUTCOMES",
    "Episode",
    "EpisodeLog",
    "Gain",
    "OutcomeKind",
    "first_line",
    "roots_with_logs",
    "task_digest",
]

log = logging.getLogger(__name__)

T = TypeVar("T")
OutcomeKind = Literal["read", "edit"]

MAX_AGE_DAYS = 90  # episodes older than this are deleted, with their outcomes
MAX_EPISODES = 5000  # per root: the oldest go first
MAX_OUTCOMES = 500  # paths per episode and kind: an agent reading everything cannot grow the log
FIRST_LINE_CHARS = 120
BUSY_TIMEOUT_MS = 2000  # a writer holding the database longer costs one skipped write, not a stall

# SQLite's primary result codes (the low byte of `sqlite_errorcode`).

_SCHEMA = """
CREATE TABLE IF NOT EXISTS episodes (
    id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, root TEXT NOT NULL, door TEXT NOT NULL,
    session TEXT, task_digest TEXT NOT NULL, task_line TEXT NOT NULL, task TEXT,
    budget INTEGER NOT NULL, tokens INTEGER NOT NULL, confidence REAL, elapsed_ms REAL NOT NULL,
    selected TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS episodes_ts ON episodes (ts);
CREATE INDEX IF NOT EXISTS episodes_session ON episodes (session, id);
CREATE TABLE IF NOT EXISTS outcomes (
    episode INTEGER NOT NULL REFERENCES episodes (id) ON DELETE CASCADE, kind TEXT NOT NULL,
    path TEXT NOT NULL, source TEXT NOT NULL, ts REAL NOT NULL,
    PRIMARY KEY (episode, kind, path)) WITHOUT ROWID;
"""
# AUTOINCREMENT: an id is never given twice, so an outcome can never attach to a later plan
# that took a pruned episode's id.


def task_digest(task: str) -> str:
    """Identifies a task without keeping it: the same text always gives the same digest."""
    return hashlib.sha256(task.encode("utf-8", errors="surrogateescape")).hexdigest()[:16]


def first_line(task: str) -> str:
    line = next((part.strip() for part in task.splitlines() if part.strip()), "")
    return line if len(line) <= FIRST_LINE_CHARS else line[: FIRST_LINE_CHARS - 1] + "…"


@dataclass(frozen=True, slots=True)
class Episode:
    """One plan served."""

    ts: float
    root: str
    door: str
    session: str | None
    task_digest: str
    task_line: str
    task: str | None  # only when the user keeps tasks
    budget: int
    tokens: int  # what the plan used of the budget: what was injected
    confidence: float | None
    elapsed_ms: float
    selected: tuple[tuple[str, int, int], ...]  # (path, tokens in the plan, tokens of the whole file)


@dataclass(frozen=True, slots=True)
class Gain:
    """What the recorded events say since a time. A share is None when nothing supports it."""

    plans: int
    episodes_with_outcomes: int
    tokens_injected: int
    tokens_whole_files: int
    field_recall: float | None  # edited files the plan had selected / edited files
    field_precision: float | None  # selected files then read or edited / selected files
    files_selected: int  # over every plan
    edited_files: int  # over the episodes with outcomes: the recall's denominator ...
    edited_selected: int  # ... and numerator
    selected_observed: int  # files selected by the episodes with outcomes: the precision's denominator ...
    selected_touched: int  # ... and numerator
    read_files: int


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


class EpisodeLog:
    """The episode log of one root. One instance per thread that uses it; methods never raise."""

    def __init__(
        self,
        root: str,
        path: str | None = None,
        *,
        create: bool = True,
        max_age_s: float = MAX_AGE_DAYS * 86400.0,
        max_episodes: int = MAX_EPISODES,
        max_outcomes: int = MAX_OUTCOMES,
    ) -> None:
        self.root = os.path.realpath(root)
        self.path = path or db_path_for(self.root)
        self._create = create  # readers and the hook never make a database that is not there
        self._max_age_s = max_age_s
        self._max_episodes = max_episodes
        self._max_outcomes = max_outcomes
        self._conn: sqlite3.Connection | None = None
        self._identity: tuple[int, int] | None = None
        self._lock = threading.Lock()
        self.unavailable: str | None = None  # why this process stopped recording

    # ---- connection ---------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection | None:
        if not os.path.exists(self.path):
            if not self._create:
                return None
            private_dir(os.path.dirname(self.path))
            private_file(self.path)
        uri = f"file:{quote(self.path)}?mode=rw"
        conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
        conn.isolation_level = None  # transactions are ours
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.executescript(_SCHEMA)
            st = os.stat(self.path)
        except BaseException:
            conn.close()
            raise
        self._identity = (st.st_dev, st.st_ino)
        return conn

    def _connection(self) -> sqlite3.Connection | None:
        if self._conn is not None:
            try:
                st = os.stat(self.path)
                moved = (st.st_dev, st.st_ino) != self._identity
            except FileNotFoundError:
                moved = True
            if not moved:
                return self._conn
            # The index store moved a corrupt database aside (or the user deleted it): follow it.
            self._drop()
        self._conn = self._connect()
        return self._conn

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _run(self, fn: Callable[[sqlite3.Connection], T], default: T, *, write: bool = False) -> T:
        """`fn` in one transaction; `default` when there is no log, it is busy, or it failed."""
        with self._lock:
            if self.unavailable is not None:
                return default
            try:
                conn = self._connection()
                if conn is None:
                    return default
                return transaction(conn, fn, write=write)
            except sqlite3.Error as exc:
                kind = error_kind(exc)
                if kind == "busy":
                    log.info(
                        "episode log %s busy; one %s skipped: %s",
                        self.path,
                        "write" if write else "read",
                        exc,
                    )
                    return default
                if kind == "corrupt":
                    # The index store owns the file and moves a corrupt one aside; the next
                    # transaction follows it to the new file (see _connection).
                    self._drop()
                    log.info(
                        "episode log %s corrupt; one %s skipped", self.path, "write" if write else "read"
                    )
                    return default
                self._stop(describe(exc))  # a full disk, a read-only cache: the file stays as it is
                return default
            except OSError as exc:
                self._stop(describe(exc))
                return default

    def _stop(self, reason: str) -> None:
        self._drop()
        self.unavailable = reason
        log.warning(
            "episode log %s unavailable (%s): plans are no longer recorded by this process; "
            "they are still served",
            self.path,
            reason,
        )

    # ---- writing ------------------------------------------------------------------------------

    def add(self, episode: Episode) -> int | None:
        """Record a plan; its id, or None when nothing was recorded. Prunes by age and count."""
        selected = json.dumps([list(s) for s in episode.selected], ensure_ascii=False)

        def go(conn: sqlite3.Connection) -> int | None:
            cur = conn.execute(
                "INSERT INTO episodes (ts, root, door, session, task_digest, task_line, task, budget, "
                "tokens, confidence, elapsed_ms, selected) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    episode.ts,
                    episode.root,
                    episode.door,
                    episode.session,
                    episode.task_digest,
                    episode.task_line,
                    episode.task,
                    episode.budget,
                    episode.tokens,
                    episode.confidence,
                    round(episode.elapsed_ms, 2),
                    selected,
                ),
            )
            conn.execute("DELETE FROM episodes WHERE ts < ?", (time.time() - self._max_age_s,))
            conn.execute(
                "DELETE FROM episodes WHERE id <= (SELECT max(id) FROM episodes) - ?", (self._max_episodes,)
            )
            return cur.lastrowid

        return self._run(go, None, write=True)

    def add_outcomes(
        self, session: str, kind: OutcomeKind, paths: Iterable[str], source: str, ts: float | None = None
    ) -> tuple[int, int] | None:
        """Attach paths (relative to the root) to the session's latest episode.

        Returns (episode id, paths newly recorded), or None when the session has no episode here.
        """
        rows = sorted(set(paths))
        when = time.time() if ts is None else ts

        def go(conn: sqlite3.Connection) -> tuple[int, int] | None:
            row = conn.execute(
                "SELECT id FROM episodes WHERE session = ? ORDER BY id DESC LIMIT 1", (session,)
            ).fetchone()
            if row is None:
                return None
            episode = int(row[0])
            (have,) = conn.execute(
                "SELECT count(*) FROM outcomes WHERE episode = ? AND kind = ?", (episode, kind)
            ).fetchone()
            room = max(0, self._max_outcomes - int(have))
            before = conn.total_changes
            conn.executemany(
                "INSERT OR IGNORE INTO outcomes VALUES (?, ?, ?, ?, ?)",
                [(episode, kind, path, source, when) for path in rows[:room]],
            )
            return episode, conn.total_changes - before

        return self._run(go, None, write=True)

    def clear(self) -> int:
        """Delete every episode and outcome of this root; how many episodes there were."""

        def go(conn: sqlite3.Connection) -> int:
            # Overwrite the freed pages too: deleted tasks must not linger in the file.
            conn.execute("PRAGMA secure_delete = ON")
            (count,) = conn.execute("SELECT count(*) FROM episodes").fetchone()
            conn.execute("DELETE FROM outcomes")
            conn.execute("DELETE FROM episodes")
            return int(count)

        count = self._run(go, 0, write=True)
        with self._lock, contextlib.suppress(sqlite3.Error):
            if self._conn is not None:
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # and out of the WAL file
        return count

    # ---- reading ------------------------------------------------------------------------------

    def episodes(self, since: float = 0.0, limit: int = 20) -> list[dict[str, Any]]:
        """The newest episodes since `since` (a time), with what was seen after each."""

        def go(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            out = []
            rows = conn.execute(
                "SELECT id, ts, root, door, session, task_digest, task_line, task, budget, tokens, "
                "confidence, elapsed_ms, selected FROM episodes WHERE ts >= ? ORDER BY id DESC LIMIT ?",
                (since, limit),
            ).fetchall()
            for row in rows:
                seen: dict[str, list[str]] = {"read": [], "edit": []}
                for kind, path in conn.execute(
                    "SELECT kind, path FROM outcomes WHERE episode = ? ORDER BY kind, path", (row[0],)
                ):
                    seen.setdefault(kind, []).append(path)
                out.append(
                    {
                        "id": row[0],
                        "time": row[1],
                        "root": row[2],
                        "door": row[3],
                        "session": row[4],
                        "task_digest": row[5],
                        "task_line": row[6],
                        "task": row[7],
                        "budget": row[8],
                        "tokens": row[9],
                        "confidence": row[10],
                        "elapsed_ms": row[11],
                        "selected": [
                            {"path": p, "tokens": t, "whole_file_tokens": w} for p, t, w in _selected(row[12])
                        ],
                        "read": seen["read"],
                        "edited": seen["edit"],
                    }
                )
            return out

        return self._run(go, [])

    def gain(self, since: float = 0.0) -> Gain:
        """The figures of `rtk-lsp gain` over the episodes since `since` (a time)."""

        def go(conn: sqlite3.Connection) -> Gain:
            plans = conn.execute(
                "SELECT id, tokens, selected FROM episodes WHERE ts >= ?", (since,)
            ).fetchall()
            seen: dict[int, dict[str, set[str]]] = {}
            for episode, kind, path in conn.execute(
                "SELECT o.episode, o.kind, o.path FROM outcomes o JOIN episodes e ON e.id = o.episode "
                "WHERE e.ts >= ?",
                (since,),
            ):
                seen.setdefault(episode, {"read": set(), "edit": set()}).setdefault(kind, set()).add(path)
            return _gain(plans, seen)

        return self._run(go, _gain([], {}))


def _selected(text: str) -> list[tuple[str, int, int]]:
    try:
        rows = json.loads(text)
        return [(str(p), int(t), int(w)) for p, t, w in rows]
    except (ValueError, TypeError):
        return []


def _gain(plans: Sequence[tuple[int, int, str]], seen: dict[int, dict[str, set[str]]]) -> Gain:
    injected = whole = files = 0
    edited = edited_selected = observed = touched = reads = 0
    for episode, tokens, selected_text in plans:
        selected = _selected(selected_text)
        injected += tokens
        whole += sum(w for _p, _t, w in selected)
        files += len(selected)
        outcome = seen.get(episode)
        if outcome is None:
            continue
        chosen = {p for p, _t, _w in selected}
        edits, read = outcome.get("edit", set()), outcome.get("read", set())
        edited += len(edits)
        edited_selected += len(edits & chosen)
        observed += len(chosen)
        touched += len(chosen & (edits | read))
        reads += len(read)
    return Gain(
        plans=len(plans),
        episodes_with_outcomes=sum(1 for episode, _t, _s in plans if episode in seen),
        tokens_injected=injected,
        tokens_whole_files=whole,
        field_recall=_share(edited_selected, edited),
        field_precision=_share(touched, observed),
        files_selected=files,
        edited_files=edited,
        edited_selected=edited_selected,
        selected_observed=observed,
        selected_touched=touched,
        read_files=reads,
    )


def roots_with_logs(path: str) -> list[str]:
    """`path` and the directories above it that have an index database, innermost first."""
    found = []
    current = os.path.realpath(path)
    while True:
        if os.path.exists(db_path_for(current)):
            found.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            return found
        current = parent
