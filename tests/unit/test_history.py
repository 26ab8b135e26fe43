"""Tests for rtk_lsp.index.history against real repositories built with the git CLI."""

from __future__ import annotations

import logging
import marshal
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

from rtk_lsp.index import history as hist
from rtk_lsp.index.commits import COCHANGE_MAX_FILES, HALF_LIFE_COMMITS, WIRE_VERSION, Commit, History
from rtk_lsp.index.history import load_history


def w(rank: int) -> float:
    return float(0.5 ** (rank / HALF_LIFE_COMMITS))


class Repo:
    """A scratch repository; every commit gets the next deterministic timestamp."""

    def __init__(self, path: Path, init: bool = True) -> None:
        self.path = path
        self.clock = 1_700_000_000
        if init:
            path.mkdir(parents=True, exist_ok=True)
            self.git("init", "-q", "-b", "main")

    def git(self, *args: str) -> str:
        env = dict(os.environ)
        stamp = f"@{self.clock} +0000"
        env.update(GIT_AUTHOR_DATE=stamp, GIT_COMMITTER_DATE=stamp)
        done = subprocess.run(
            ["git", "-C", str(self.path), *args], env=env, capture_output=True, text=True, check=True
        )
        return done.stdout

    def write(self, rel: str, text: str) -> None:
        p = self.path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)

    def commit(self, subject: str, **files: str) -> str:
        """Write `files` (keyword names use "__" for "/" and "_dot_" for "."), commit all."""
        for name, text in files.items():
            self.write(name.replace("__", "/").replace("_dot_", "."), text)
        return self.commit_all(subject)

    def commit_all(self, subject: str) -> str:
        self.clock += 60
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", subject)
        return self.head()

    def change(self, subject: str, *paths: str) -> str:
        for p in paths:
            f = self.path / p
            f.parent.mkdir(parents=True, exist_ok=True)
            with f.open("a") as fh:
                fh.write(f"{subject}\n")
        return self.commit_all(subject)

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").strip()


@pytest.fixture(autouse=True)
def isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # The user's own git config must not leak into either the fixtures or the module.
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "T")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "t@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "T")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "t@example.com")


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return Repo(tmp_path / "r")


@pytest.fixture
def log_revs(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Records the commits whose changes every `git log` the module runs reads."""
    reads: list[list[str]] = []
    real = hist._log

    def spy(repo: Any, shas: list[str], *args: Any) -> list[Commit]:
        reads.append(list(shas))
        return real(repo, shas, *args)

    monkeypatch.setattr(hist, "_log", spy)
    return reads


class DictCache:
    """A `CommitCache` in a dict, as a machine-wide store would hold it."""

    def __init__(self) -> None:
        self.rows: dict[str, Commit] = {}

    def get_commits(self, keys: Iterable[str]) -> dict[str, Commit]:
        return {k: self.rows[k] for k in keys if k in self.rows}

    def put_commits(self, commits: Mapping[str, Commit]) -> None:
        self.rows.update(commits)


def shas_of(h: History, *subjects: str) -> list[str]:
    by_subject = {c.subject: c.sha for c in h.commits}
    return [by_subject[s] for s in subjects]


def assert_same(a: History, b: History) -> None:
    assert a == b
    assert a.churn == pytest.approx(b.churn)
    assert a.counts == b.counts
    assert a.last_rank == b.last_rank
    assert a.cochange == b.cochange


def test_exact_counts_churn_cochange(repo: Repo) -> None:
    c1 = repo.commit("add a and b", a_dot_py="1\n", b_dot_py="1\n")
    c2 = repo.commit("a and c", a_dot_py="2\n", c_dot_py="1\n")
    c3 = repo.commit("only a", a_dot_py="3\n")
    h = load_history(str(repo.path))

    assert h.head == c3
    assert h.note == ""
    assert h.complete
    assert [c.sha for c in h.commits] == [c3, c2, c1]
    assert h.commits[0] == Commit(c3, repo.clock, ("a.py",), "only a")
    assert h.commits[1].files == ("a.py", "c.py")
    assert h.commits[1].added == ("c.py",)
    assert h.commits[2].time == repo.clock - 120
    assert h.counts == {"a.py": 3, "b.py": 1, "c.py": 1}
    assert h.churn == pytest.approx({"a.py": w(0) + w(1) + w(2), "b.py": w(2), "c.py": w(1)})
    assert h.last_rank == {"a.py": 0, "c.py": 1, "b.py": 2}
    assert h.cochange == {
        "a.py": {"b.py": 1, "c.py": 1},
        "b.py": {"a.py": 1},
        "c.py": {"a.py": 1},
    }


def test_merge_commits_are_skipped_but_branch_commits_count(repo: Repo) -> None:
    repo.commit("base", a_dot_py="1\n")
    repo.git("checkout", "-q", "-b", "topic")
    topic = repo.commit("topic work", t_dot_py="1\n")
    repo.git("checkout", "-q", "main")
    main = repo.commit("main work", m_dot_py="1\n")
    repo.clock += 60
    repo.git("merge", "-q", "--no-ff", "-m", "merge topic", "topic")
    merge = repo.head()

    h = load_history(str(repo.path))
    shas = [c.sha for c in h.commits]
    assert h.head == merge
    assert merge not in shas
    assert shas[:2] == [main, topic]
    assert h.counts == {"a.py": 1, "t.py": 1, "m.py": 1}


def test_recent_changes_outweigh_old_ones(repo: Repo) -> None:
    repo.commit("old", old_dot_py="1\n")
    for i in range(HALF_LIFE_COMMITS - 1):
        repo.commit(f"filler {i}", filler_dot_py=f"{i}\n")
    repo.commit("new", new_dot_py="1\n")
    h = load_history(str(repo.path))

    assert h.last_rank["new.py"] == 0
    assert h.last_rank["old.py"] == HALF_LIFE_COMMITS
    assert h.churn["new.py"] == pytest.approx(1.0)
    assert h.churn["old.py"] == pytest.approx(0.5)  # exactly one half-life back
    assert h.churn["new.py"] > h.churn["old.py"]
    # Many changes still beat one recent change, but by less than their count.
    assert h.counts["filler.py"] == HALF_LIFE_COMMITS - 1
    assert h.churn["new.py"] < h.churn["filler.py"] < HALF_LIFE_COMMITS - 1


def test_subdirectory_workspace(repo: Repo) -> None:
    repo.commit("mixed", top_dot_py="1\n", sub__x_dot_py="1\n", other__z_dot_py="1\n")
    outside_only = repo.commit("outside only", top_dot_py="2\n", other__z_dot_py="2\n")
    c3 = repo.commit("deep", sub__deep__y_dot_py="1\n", sub__x_dot_py="2\n", other__z_dot_py="3\n")
    h = load_history(str(repo.path / "sub"))

    assert h.head == c3
    assert outside_only not in {c.sha for c in h.commits}
    assert len(h.commits) == 2
    assert h.commits[0].files == ("deep/y.py", "x.py")
    assert h.commits[1].files == ("x.py",)
    assert h.counts == {"x.py": 2, "deep/y.py": 1}
    assert h.cochange == {"x.py": {"deep/y.py": 1}, "deep/y.py": {"x.py": 1}}

    deeper = load_history(str(repo.path / "sub" / "deep"))
    assert deeper.counts == {"y.py": 1}


def test_incremental_forward_equals_full_rebuild(repo: Repo, log_revs: list[list[str]]) -> None:
    repo.commit("one", a_dot_py="1\n", b_dot_py="1\n")
    repo.commit("two", b_dot_py="2\n")
    old = load_history(str(repo.path))
    n1 = repo.commit("three", a_dot_py="3\n", c_dot_py="1\n")
    n2 = repo.commit("four", c_dot_py="2\n")

    log_revs.clear()
    inc = load_history(str(repo.path), previous=old)
    assert log_revs == [[n2, n1]]  # only the commits not seen before
    assert [c.sha for c in inc.commits] == [n2, n1, *(c.sha for c in old.commits)]
    assert_same(inc, load_history(str(repo.path)))


def test_incremental_across_merge_of_older_branch_equals_full(repo: Repo, log_revs: list[list[str]]) -> None:
    repo.commit("base", a_dot_py="1\n")
    repo.git("checkout", "-q", "-b", "topic")
    repo.commit("topic 1", t_dot_py="1\n")  # older than the main commits below
    repo.commit("topic 2", t_dot_py="2\n", a_dot_py="2\n")
    repo.git("checkout", "-q", "main")
    repo.commit("main 1", m_dot_py="1\n")
    repo.commit("main 2", m_dot_py="2\n")
    old = load_history(str(repo.path))
    repo.clock += 60
    repo.git("merge", "-q", "--no-ff", "-m", "merge topic", "topic")
    repo.commit("after", a_dot_py="3\n")

    log_revs.clear()
    inc = load_history(str(repo.path), previous=old)
    full = load_history(str(repo.path))
    assert sorted(log_revs[0]) == sorted(shas_of(full, "after", "topic 2", "topic 1"))
    assert_same(inc, full)
    # Ranked by commit time, not by when they reached HEAD.
    assert [c.subject for c in full.commits] == ["after", "main 2", "main 1", "topic 2", "topic 1", "base"]


def test_unchanged_head_returns_previous(repo: Repo, log_revs: list[list[str]]) -> None:
    repo.commit("one", a_dot_py="1\n")
    old = load_history(str(repo.path))
    log_revs.clear()
    assert load_history(str(repo.path), previous=old) is old
    assert log_revs == []


def test_rewrite_falls_back_to_full_rebuild(repo: Repo, log_revs: list[list[str]]) -> None:
    for i in range(4):
        repo.commit(f"c{i}", a_dot_py=f"{i}\n", **{f"f{i}_dot_py": "x\n"})
    old = load_history(str(repo.path))
    dropped = {c.sha for c in old.commits[:2]}
    repo.git("reset", "-q", "--hard", "HEAD~2")
    new = repo.commit("rewritten", a_dot_py="new\n", g_dot_py="1\n")

    log_revs.clear()
    h = load_history(str(repo.path), previous=old)
    assert log_revs == [[new]]
    assert not dropped & {c.sha for c in h.commits}
    assert [c.subject for c in h.commits] == ["rewritten", "c1", "c0"]
    assert h.counts == {"a.py": 3, "g.py": 1, "f1.py": 1, "f0.py": 1}
    assert_same(h, load_history(str(repo.path)))


def test_moving_head_anywhere_reads_only_unseen_commits(repo: Repo, log_revs: list[list[str]]) -> None:
    cache = DictCache()
    for i in range(4):
        repo.commit(f"c{i}", a_dot_py=f"{i}\n", **{f"f{i}_dot_py": "x\n"})
    at_tip = load_history(str(repo.path), cache=cache)
    tip = repo.head()
    repo.git("checkout", "-q", "-b", "side", "HEAD~3")
    repo.commit("side", s_dot_py="1\n")

    log_revs.clear()
    side = load_history(str(repo.path), previous=at_tip, cache=cache)
    assert log_revs == [shas_of(side, "side")]
    assert_same(side, load_history(str(repo.path)))

    # Back to the tip with no previous history at all: every commit is in the cache.
    repo.git("checkout", "-q", tip)
    log_revs.clear()
    back = load_history(str(repo.path), cache=cache)
    assert log_revs == []
    assert_same(back, at_tip)


def test_a_worktree_reuses_its_repository_history(
    repo: Repo, tmp_path: Path, log_revs: list[list[str]]
) -> None:
    cache = DictCache()
    repo.commit("one", a_dot_py="1\n", sub__b_dot_py="1\n")
    repo.commit("two", sub__b_dot_py="2\n")
    main = load_history(str(repo.path), cache=cache)
    sub = load_history(str(repo.path / "sub"), cache=cache)
    other = tmp_path / "other"
    repo.git("worktree", "add", "-q", "--detach", str(other))

    log_revs.clear()
    assert_same(load_history(str(other), cache=cache), main)
    assert_same(load_history(str(other / "sub"), cache=cache), sub)
    assert log_revs == []
    assert [c.files for c in sub.commits] == [("b.py",), ("b.py",)]  # relative to the subfolder


def test_reset_to_older_commit_rebuilds(repo: Repo) -> None:
    repo.commit("c0", a_dot_py="0\n")
    repo.commit("c1", a_dot_py="1\n")
    old = load_history(str(repo.path))
    repo.git("reset", "-q", "--hard", "HEAD~1")
    h = load_history(str(repo.path), previous=old)
    assert [c.subject for c in h.commits] == ["c0"]
    assert_same(h, load_history(str(repo.path)))


def test_depth_trimming(repo: Repo, log_revs: list[list[str]]) -> None:
    for i in range(5):
        repo.commit(f"c{i}", **{f"f{i}_dot_py": "x\n"})
    h3 = load_history(str(repo.path), depth=3)
    assert [c.subject for c in h3.commits] == ["c4", "c3", "c2"]
    assert set(h3.counts) == {"f4.py", "f3.py", "f2.py"}
    assert not h3.complete
    h10 = load_history(str(repo.path), depth=10)
    assert len(h10.commits) == 5 and h10.complete
    assert load_history(str(repo.path), depth=0).commits == ()

    repo.commit("c5", f5_dot_py="x\n")
    repo.commit("c6", f6_dot_py="x\n")
    log_revs.clear()
    inc = load_history(str(repo.path), depth=3, previous=h3)
    assert [c.subject for c in inc.commits] == ["c6", "c5", "c4"]
    assert log_revs == [shas_of(inc, "c6", "c5")]
    assert_same(inc, load_history(str(repo.path), depth=3))

    # A larger window than the previous one held reads the older commits it lacks.
    log_revs.clear()
    wide = load_history(str(repo.path), depth=6, previous=inc)
    assert [c.subject for c in wide.commits] == ["c6", "c5", "c4", "c3", "c2", "c1"]
    assert log_revs == [shas_of(wide, "c3", "c2", "c1")]

    # Same HEAD, smaller window: trimmed without asking git.
    log_revs.clear()
    narrow = load_history(str(repo.path), depth=2, previous=wide)
    assert log_revs == []
    assert_same(narrow, load_history(str(repo.path), depth=2))

    # A complete previous history can be.
    log_revs.clear()
    repo.commit("c7", f7_dot_py="x\n")
    h_all = load_history(str(repo.path), depth=100, previous=h10)
    assert log_revs == [shas_of(h_all, "c7", "c6", "c5")]
    assert h_all.complete
    assert_same(h_all, load_history(str(repo.path), depth=100))


def test_wide_commits_count_in_churn_but_not_cochange(repo: Repo) -> None:
    wide = {f"w{i:02}_dot_py": "x\n" for i in range(COCHANGE_MAX_FILES + 1)}
    repo.commit("wide", **wide)
    limit = {f"w{i:02}_dot_py": "y\n" for i in range(COCHANGE_MAX_FILES)}
    repo.commit("at the limit", **limit)
    repo.commit("pair", w00_dot_py="z\n", w50_dot_py="z\n")
    h = load_history(str(repo.path))

    assert len(h.commits[2].files) == COCHANGE_MAX_FILES + 1
    assert h.counts["w50.py"] == 2
    assert h.counts["w00.py"] == 3
    assert h.churn["w50.py"] == pytest.approx(w(0) + w(2))
    assert h.cochange["w50.py"] == {"w00.py": 1}
    assert h.cochange["w00.py"]["w50.py"] == 1
    assert h.cochange["w00.py"]["w01.py"] == 1  # from the 50-file commit only
    assert h.cochange["w01.py"] == {f"w{i:02}.py": 1 for i in range(COCHANGE_MAX_FILES) if i != 1}


def test_renames_carry_history_to_the_new_name(repo: Repo, log_revs: list[list[str]]) -> None:
    body = "".join(f"line {i}\n" for i in range(40))
    repo.commit("add", pkg__a_dot_py=body, x_dot_py="1\n")
    repo.commit("edit both", pkg__a_dot_py=body + "more\n", x_dot_py="2\n")
    old = load_history(str(repo.path))
    repo.git("mv", "pkg/a.py", "pkg/b.py")
    rename = repo.commit_all("rename")
    repo.commit("edit b", pkg__b_dot_py=body + "more\nagain\n")
    repo.commit("new a", pkg__a_dot_py="unrelated\n")
    h = load_history(str(repo.path))

    assert next(c for c in h.commits if c.sha == rename).renames == (("pkg/a.py", "pkg/b.py"),)
    assert h.counts == {"pkg/b.py": 4, "pkg/a.py": 1, "x.py": 2}
    assert h.churn["pkg/b.py"] == pytest.approx(w(1) + w(2) + w(3) + w(4))
    assert h.last_rank["pkg/a.py"] == 0
    assert h.cochange == {"pkg/b.py": {"x.py": 2}, "x.py": {"pkg/b.py": 2}}

    log_revs.clear()
    inc = load_history(str(repo.path), previous=old)
    assert log_revs == [shas_of(h, "new a", "edit b", "rename")]
    assert_same(inc, h)


def test_rename_chain_and_name_reuse(repo: Repo) -> None:
    body = "".join(f"line {i}\n" for i in range(40))
    repo.commit("add a", a_dot_txt=body)
    repo.git("mv", "a.txt", "b.txt")
    repo.commit_all("a to b")
    repo.git("rm", "-q", "b.txt")
    repo.commit_all("drop b")
    repo.commit("new b", b_dot_txt="other\n")
    repo.git("mv", "b.txt", "c.txt")
    repo.commit_all("b to c")
    h = load_history(str(repo.path))
    # The b.txt renamed to c.txt was created by "new b"; the first file ends at "drop b".
    assert h.counts == {"c.txt": 2, "b.txt": 3}


def test_paths_with_spaces_and_unicode(repo: Repo) -> None:
    repo.write("dir with space/é ü.py", "1\n")
    repo.write('odd"quote.py', "1\n")
    repo.commit_all("odd names")
    h = load_history(str(repo.path))
    assert h.commits[0].files == ("dir with space/é ü.py", 'odd"quote.py')


def test_not_a_git_repository(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    h = load_history(str(plain))
    assert h == History.empty("not a git repository")
    assert h.head is None and h.churn == {} and h.cochange == {}
    assert load_history(str(tmp_path / "missing")).note == "workspace root does not exist"


def test_empty_repository(repo: Repo) -> None:
    h = load_history(str(repo.path))
    assert h.head is None
    assert h.commits == ()
    assert h.note == "empty repository (no commits yet)"


def test_detached_head(repo: Repo) -> None:
    c0 = repo.commit("c0", a_dot_py="0\n")
    c1 = repo.commit("c1", a_dot_py="1\n", b_dot_py="1\n")
    repo.commit("c2", c_dot_py="1\n")
    repo.git("checkout", "-q", "--detach", c1)
    h = load_history(str(repo.path))
    assert h.head == c1
    assert h.note == ""
    assert [c.sha for c in h.commits] == [c1, c0]
    assert h.counts == {"a.py": 2, "b.py": 1}


def test_shallow_clone(repo: Repo, tmp_path: Path, log_revs: list[list[str]]) -> None:
    repo.commit("c0", early_dot_py="1\n", keep_dot_py="0\n")
    for i in range(1, 5):
        repo.commit(f"c{i}", keep_dot_py=f"{i}\n", **{f"f{i}_dot_py": "x\n"})
    clone = tmp_path / "shallow"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "3", f"file://{repo.path}", str(clone)],
        check=True,
        capture_output=True,
    )
    h = load_history(str(clone))
    assert h.head == repo.head()
    assert h.note == "shallow clone: history truncated"
    assert not h.complete
    # The boundary commit (c2) would claim to add every file of the tree: dropped.
    assert [c.subject for c in h.commits] == ["c4", "c3"]
    assert "early.py" not in h.counts
    assert h.counts == {"keep.py": 2, "f4.py": 1, "f3.py": 1}
    log_revs.clear()
    assert load_history(str(clone), previous=h) is h
    assert log_revs == []
    # A window smaller than what the clone holds is not truncated.
    small = load_history(str(clone), depth=1)
    assert small.note == "" and [c.subject for c in small.commits] == ["c4"]


def test_corrupt_head(repo: Repo) -> None:
    repo.commit("c0", a_dot_py="0\n")
    (repo.path / ".git" / "HEAD").write_text("garbage garbage\n")
    h = load_history(str(repo.path))
    # git itself no longer recognises such a directory as a repository.
    assert h == History.empty("not a git repository")


def test_head_pointing_at_missing_object(repo: Repo) -> None:
    repo.commit("c0", a_dot_py="0\n")
    (repo.path / ".git" / "refs" / "heads" / "main").write_text("1" * 40 + "\n")
    h = load_history(str(repo.path))
    assert h.head is None and h.commits == ()
    assert h.note.startswith("git failed:")


def test_git_binary_missing(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    import git

    repo.commit("c0", a_dot_py="0\n")
    monkeypatch.setattr(git.Git, "GIT_PYTHON_GIT_EXECUTABLE", str(repo.path / "no-such-git"))
    h = load_history(str(repo.path))
    assert h == History.empty("git not found")


def test_gitpython_import_failure(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    repo.commit("c0", a_dot_py="0\n")
    monkeypatch.setitem(sys.modules, "git", None)  # makes `import git` raise ImportError
    assert load_history(str(repo.path)) == History.empty("git not found")


def test_note_is_logged_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    plain = tmp_path / "plain-logged"
    plain.mkdir()
    with caplog.at_level(logging.INFO, logger=hist.__name__):
        load_history(str(plain))
        load_history(str(plain))
    notes = [r for r in caplog.records if "not a git repository" in r.getMessage()]
    assert len(notes) == 1


def test_wire_round_trip(repo: Repo) -> None:
    body = "".join(f"line {i}\n" for i in range(40))
    repo.commit("add", a_dot_py=body, b_dot_py="1\n")
    repo.git("mv", "a.py", "c.py")
    repo.commit("rename and edit", b_dot_py="2\n")
    h = load_history(str(repo.path))
    assert any(c.renames for c in h.commits)

    back = History.from_wire(marshal.loads(marshal.dumps(h.to_wire())))
    assert_same(back, h)
    assert back.complete == h.complete and back.note == h.note
    empty = History.empty("not a git repository")
    assert History.from_wire(marshal.loads(marshal.dumps(empty.to_wire()))) == empty
    with pytest.raises(ValueError):
        History.from_wire((WIRE_VERSION + 1, *h.to_wire()[1:]))


def test_timeout_note() -> None:
    import git

    # The shape GitPython gives a command killed by kill_after_timeout.
    err = git.exc.GitCommandError(["git", "log"], -9, "Timeout: the command did not complete in 60 secs.")
    assert hist._command_note(err) == f"git timed out after {hist.git_timeout():g} s"
    err = git.exc.GitCommandError(["git", "log"], 128, "fatal: bad object HEAD\nmore")
    assert hist._command_note(err) == "git failed: fatal: bad object HEAD"


def test_missing_blobs_lose_renames_not_history(repo: Repo, caplog: pytest.LogCaptureFixture) -> None:
    # A clone without some blobs (mirrors that leave out large data files): rename detection
    # must read them and fails, so the walk is redone without it instead of giving up.
    body = "".join(f"line {i}\n" for i in range(40))
    repo.commit("add", a_dot_py=body, b_dot_py="1\n")
    repo.git("mv", "a.py", "c.py")
    repo.commit("rename and edit", c_dot_py=body + "more\n", b_dot_py="2\n")
    repo.commit("edit b", b_dot_py="3\n")
    blob = repo.git("rev-parse", "HEAD~2:a.py").strip()
    (repo.path / ".git" / "objects" / blob[:2] / blob[2:]).unlink()
    with pytest.raises(subprocess.CalledProcessError):
        repo.git("log", "-M", "--name-status", "HEAD")  # what the first walk runs into

    with caplog.at_level(logging.WARNING, logger=hist.__name__):
        h = load_history(str(repo.path))
    assert h.note == "" and len(h.commits) == 3
    assert h.counts == {"a.py": 2, "b.py": 3, "c.py": 1}  # the rename is a delete and an add
    assert all(c.renames == () for c in h.commits)
    assert h.cochange["b.py"] == {"a.py": 2, "c.py": 1}
    assert any("without rename detection" in r.getMessage() for r in caplog.records)
