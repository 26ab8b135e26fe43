"""The episode log (rtk_lsp/index/episodes.py): what it keeps, how it prunes, the figures of
`rtk-lsp gain`, several processes writing at once, and a database it cannot use."""

from __future__ import annotations

import json
import logging
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rtk_lsp.index.episodes import Episode, EpisodeLog, first_line, roots_with_logs, task_digest
from rtk_lsp.paths import db_path_for


def episode(
    root: Path,
    session: str | None,
    selected: dict[str, tuple[int, int]],
    *,
    ts: float | None = None,
    tokens: int | None = None,
    task: str = "fix the discount rounding\nin apply_discount",
) -> Episode:
    return Episode(
        ts=time.time() if ts is None else ts,
        root=str(root),
        door="http",
        session=session,
        task_digest=task_digest(task),
        task_line=first_line(task),
        task=None,
        budget=4000,
        tokens=sum(t for t, _w in selected.values()) if tokens is None else tokens,
        confidence=None,
        elapsed_ms=3.0,
        selected=tuple((p, t, w) for p, (t, w) in selected.items()),
    )


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "project"
    r.mkdir()
    return r.resolve()


def count(root: Path, table: str) -> int:
    with sqlite3.connect(db_path_for(str(root))) as conn:
        (n,) = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(n)


def test_task_digest_and_first_line() -> None:
    assert task_digest("a task") == task_digest("a task") != task_digest("a task.")
    assert len(task_digest("x")) == 16
    assert first_line("\n\n  Fix the bug  \nthen more") == "Fix the bug"
    long = first_line("word " * 100)
    assert len(long) == 120 and long.endswith("…")


def test_gain_rests_on_recorded_events_only(root: Path) -> None:
    log = EpisodeLog(str(root))
    assert log.gain().plans == 0 and log.gain().field_recall is None

    # Session a: selected invoice and tax; read invoice and profile, edited invoice and a new file.
    a = log.add(episode(root, "a", {"billing/invoice.py": (150, 180), "billing/tax.py": (70, 60)}))
    assert a is not None
    assert log.add_outcomes("a", "read", ["billing/invoice.py", "users/profile.py"], "hook") == (a, 2)
    assert log.add_outcomes("a", "edit", ["billing/invoice.py", "billing/new.py"], "hook") == (a, 2)
    assert log.add_outcomes("a", "read", ["billing/invoice.py"], "hook") == (a, 0), "a path counts once"
    # Session b: one file selected, only read afterwards.
    b = log.add(episode(root, "b", {"users/profile.py": (90, 400)}))
    assert b is not None and log.add_outcomes("b", "read", ["users/profile.py"], "mcp") == (b, 1)
    # No session, no outcomes: counts for plans and tokens only.
    log.add(episode(root, None, {"utils/strings.py": (40, 50)}))
    # A session without a plan here records nothing.
    assert log.add_outcomes("nobody", "edit", ["billing/invoice.py"], "hook") is None

    g = log.gain()
    assert (g.plans, g.episodes_with_outcomes) == (3, 2)
    assert (g.tokens_injected, g.tokens_whole_files, g.files_selected) == (150 + 70 + 90 + 40, 690, 4)
    # recall: of the 2 edited files (both in a), invoice had been selected
    assert (g.edited_selected, g.edited_files, g.field_recall) == (1, 2, 0.5)
    # precision: a selected 2 and touched invoice; b selected 1 and read it
    assert (g.selected_touched, g.selected_observed, g.field_precision) == (2, 3, 0.6667)
    assert g.read_files == 3

    listed = log.episodes()
    assert [e["session"] for e in listed] == [None, "b", "a"], "newest first"
    assert listed[2]["read"] == ["billing/invoice.py", "users/profile.py"]
    assert listed[2]["edited"] == ["billing/invoice.py", "billing/new.py"]
    assert listed[2]["task_line"] == "fix the discount rounding" and listed[2]["task"] is None
    assert listed[2]["selected"][0] == {"path": "billing/invoice.py", "tokens": 150, "whole_file_tokens": 180}

    # `since` leaves older plans out, with their outcomes.
    later = time.time() + 1
    log.add(episode(root, "c", {"billing/invoice.py": (150, 180)}, ts=later + 10))
    recent = log.gain(since=later)
    assert (recent.plans, recent.episodes_with_outcomes, recent.field_recall) == (1, 0, None)
    log.close()


def test_outcomes_attach_to_the_sessions_latest_plan(root: Path) -> None:
    log = EpisodeLog(str(root), max_outcomes=3)
    first = log.add(episode(root, "s", {"a.py": (10, 10)}))
    second = log.add(episode(root, "s", {"b.py": (10, 10)}))
    assert first is not None and second is not None and second > first
    assert log.add_outcomes("s", "edit", ["b.py"], "hook") == (second, 1)
    assert log.add_outcomes("s", "read", [f"f{i}.py" for i in range(10)], "hook") == (second, 3), "capped"
    assert log.add_outcomes("s", "read", ["g.py"], "hook") == (second, 0)
    assert log.add_outcomes("s", "edit", ["c.py"], "hook") == (second, 1), "the cap is per kind"
    g = log.gain()
    assert (g.episodes_with_outcomes, g.edited_files, g.edited_selected) == (1, 2, 1)


def test_pruned_by_age_and_by_count(root: Path) -> None:
    before = EpisodeLog(str(root))  # the defaults: 90 days
    old = before.add(episode(root, "old", {"a.py": (1, 1)}, ts=time.time() - 7200))
    assert old is not None and before.add_outcomes("old", "read", ["a.py"], "hook") == (old, 1)
    before.close()
    log = EpisodeLog(str(root), max_age_s=3600, max_episodes=3)
    ids = []
    for i in range(5):
        ids.append(log.add(episode(root, f"s{i}", {"a.py": (1, 1)})))
        assert log.add_outcomes(f"s{i}", "edit", ["a.py"], "hook") == (ids[-1], 1)
    assert [e["id"] for e in log.episodes()] == ids[::-1][:3], "the newest 3 remain"
    assert count(root, "episodes") == 3 and count(root, "outcomes") == 3, "outcomes go with their episodes"
    assert log.add_outcomes("old", "read", ["b.py"], "hook") is None, "the old plan is gone"
    # A new plan never takes a pruned plan's id: old outcomes cannot attach to it.
    newest = log.add(episode(root, "s9", {"a.py": (1, 1)}))
    assert newest is not None and newest > max(i for i in ids if i is not None)


def test_clear_deletes_every_episode_and_outcome(root: Path) -> None:
    log = EpisodeLog(str(root))
    secret = "rotate the key sk-live-1234 in payments/keys.py"
    log.add(
        Episode(
            time.time(),
            str(root),
            "cli",
            "s",
            task_digest(secret),
            first_line(secret),
            secret,
            100,
            10,
            None,
            1.0,
            (),
        )
    )
    log.add_outcomes("s", "edit", ["payments/keys.py"], "hook")
    log.close()
    db = Path(db_path_for(str(root)))
    assert b"sk-live-1234" in on_disk(db)

    cleared = subprocess.run(
        [sys.executable, "-m", "rtk_lsp", "episodes", "--root", str(root), "--clear"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "deleted 1 episode of" in cleared.stdout
    assert count(root, "episodes") == count(root, "outcomes") == 0
    assert b"sk-live-1234" not in on_disk(db), "the deleted task is not left in the file's free pages"


def on_disk(db: Path) -> bytes:
    """The database file and its WAL, as bytes."""
    return b"".join(p.read_bytes() for p in (db, Path(f"{db}-wal")) if p.exists())


def test_readers_never_create_a_database(tmp_path: Path) -> None:
    nowhere = tmp_path / "empty"
    nowhere.mkdir()
    log = EpisodeLog(str(nowhere), create=False)
    assert (
        log.gain().plans == 0
        and log.episodes() == []
        and log.add_outcomes("s", "read", ["a"], "hook") is None
    )
    assert log.unavailable is None and not Path(db_path_for(str(nowhere))).exists()


def test_roots_with_logs_innermost_first(tmp_path: Path) -> None:
    outer = (tmp_path / "outer").resolve()
    inner = outer / "pkg" / "inner"
    (inner / "src").mkdir(parents=True)
    for r in (outer, inner):
        EpisodeLog(str(r)).gain()  # creates its database
    assert roots_with_logs(str(inner / "src")) == [str(inner), str(outer)]
    assert roots_with_logs(str(outer / "pkg")) == [str(outer)]


def test_a_database_that_cannot_be_opened_stops_recording_with_one_warning(
    root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = Path(db_path_for(str(root)))
    db.mkdir(parents=True)  # SQLITE_CANTOPEN: nothing to record into, nothing to delete
    log = EpisodeLog(str(root))
    with caplog.at_level(logging.WARNING, logger="rtk_lsp.index.episodes"):
        assert log.add(episode(root, "s", {"a.py": (1, 1)})) is None
        assert log.add(episode(root, "s", {"a.py": (1, 1)})) is None
        assert log.add_outcomes("s", "read", ["a.py"], "hook") is None
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "plans are no longer recorded" in warnings[0].getMessage()
    assert log.unavailable and db.is_dir()


def test_a_corrupt_database_is_left_to_the_store_and_followed_once_replaced(
    root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = Path(db_path_for(str(root)))
    db.parent.mkdir(parents=True)
    db.write_bytes(b"this is not a database" * 512)  # SQLITE_NOTADB
    log = EpisodeLog(str(root))
    with caplog.at_level(logging.WARNING, logger="rtk_lsp.index.episodes"):
        assert log.add(episode(root, "s", {"a.py": (1, 1)})) is None
    # Not ours to move aside or delete, and no reason to stop recording for good.
    assert db.read_bytes().startswith(b"this is not a database")
    assert log.unavailable is None and not caplog.records
    # What the index store does with a corrupt file: a fresh database in its place.
    db.rename(db.with_name(db.name + ".corrupt-1"))
    assert log.add(episode(root, "s", {"a.py": (1, 1)})) is not None
    assert count(root, "episodes") == 1
    assert (db.stat().st_mode & 0o777) == 0o600


WRITER = """
import sys, time
from rtk_lsp.index.episodes import Episode, EpisodeLog
root, name, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
log = EpisodeLog(root)
for i in range(n):
    session = f"{name}-{i}"
    log.add(Episode(time.time(), root, "http", session, "d", "t", None, 100, 10, None, 1.0, (("a.py", 10, 20),)))
    assert log.add_outcomes(session, "edit", ["a.py", f"{name}.py"], "hook") is not None, session
print(log.unavailable or "ok")
"""


def test_concurrent_writers_lose_nothing(root: Path) -> None:
    EpisodeLog(str(root)).gain()  # the database exists before they race for it
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(root), f"w{k}", "40"], stdout=subprocess.PIPE, text=True
        )
        for k in range(4)
    ]
    outputs = [w.communicate(timeout=120)[0].strip() for w in writers]
    assert outputs == ["ok"] * 4 and all(w.returncode == 0 for w in writers)
    g = EpisodeLog(str(root)).gain()
    assert (g.plans, g.episodes_with_outcomes, g.edited_files, g.edited_selected) == (160, 160, 320, 160)
    assert count(root, "outcomes") == 320


def test_the_selected_column_is_json(root: Path) -> None:
    log = EpisodeLog(str(root))
    log.add(episode(root, None, {"ü/ä.py": (5, 6)}))
    with sqlite3.connect(db_path_for(str(root))) as conn:
        (text,) = conn.execute("SELECT selected FROM episodes").fetchone()
    assert json.loads(text) == [["ü/ä.py", 5, 6]]
