"""A cold build: parser processes, content rows written while they parse, the lexical index built
as their records come. What it makes must be what a build in one process makes, and what the
stores give back to a new process."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from gitrepo import GitRepo
from test_parse import LITERALS
from test_switch import build_in_new_process, facts
from tree_sitter import QueryCursor

from rtk_lsp.index import workspace
from rtk_lsp.index.analyze import worker_init
from rtk_lsp.index.costs import costs
from rtk_lsp.index.languages import detect_language
from rtk_lsp.index.lexical import LexicalIndex
from rtk_lsp.index.parse import LANGUAGES
from rtk_lsp.index.parse.extract import MAX_REF_LINES, _compile, _strings, extract
from rtk_lsp.index.workspace import Workspace
from rtk_lsp.settings import Settings

EXTENSIONS = {
    "python": "py",
    "javascript": "js",
    "typescript": "ts",
    "rust": "rs",
    "go": "go",
    "java": "java",
    "c": "c",
    "cpp": "cpp",
    "ruby": "rb",
    "php": "php",
    "csharp": "cs",
    "kotlin": "kt",
    "swift": "swift",
    "scala": "scala",
}

# Lines that end in CRLF, in a lone CR, that hold non-ASCII and invalid UTF-8, and a name used
# on more lines than are kept.
AWKWARD = (
    b"alpha = beta\r\nbeta(gamma)\r\n# \xc3\xa9t\xc3\xa9\ngamma + alpha\repsilon\n\xff\xfe gamma\n"
    b"s = '''\nbeta\n''' + beta; beta\n" + b"".join(b"delta(%d)\n" % i for i in range(MAX_REF_LINES + 3))
)


def make_repo(root: Path) -> GitRepo:
    r = GitRepo(root)
    files = {f"lit/sample.{EXTENSIONS[lang]}": source for lang, (source, _) in LITERALS.items()}
    for i in range(12):
        files[f"pkg/m{i}.py"] = (
            f"from pkg.m{(i + 1) % 12} import helper_{(i + 1) % 12}\n\n\n"
            f"def helper_{i}(value):\n"
            f'    """Helper {i} of the package."""\n'
            f'    return helper_{(i + 1) % 12}(value) + f"{{value!r}} {{"{i}"}} done"\n'
        )
    r.commit("files", files)
    (root / "awkward.py").write_bytes(AWKWARD)
    r.commit("awkward bytes")
    return r


def test_a_cold_build_in_parser_processes_equals_one_in_a_process_and_what_the_stores_give(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = make_repo(tmp_path / "repo")
    model = costs()
    monkeypatch.setitem(model.ms, "pool_start", 0.0)  # parser processes, however few the files
    monkeypatch.setattr(model, "observe", lambda *a: None)
    monkeypatch.setattr(workspace, "PUT_CHUNK", 3)  # content rows written while others still parse

    ws = Workspace(str(r.root), Settings())
    cold = ws.refresh()
    parsed = ws.last_refresh["parsed"]
    ws.close()
    assert parsed == len(cold.files) > 25
    assert cold.lexical == LexicalIndex.build(cold.files.values())
    # a new process with default costs parses these few files in itself
    assert facts(cold) == build_in_new_process(r.root, use_store=False)[0]

    # Another root with the same contents finds every row written during the parse.
    clone = tmp_path / "clone"
    r.git("clone", "-q", str(r.root), str(clone))
    (clone / "awkward.py").write_bytes(AWKWARD)  # as committed: no checkout conversion
    shared, parsed_again, reused = build_in_new_process(clone, use_store=True)
    assert (parsed_again, reused) == (0, len(cold.files))
    assert shared == facts(cold)


def test_reference_lines_are_the_rows_tree_sitter_gives() -> None:
    compiled = _compile("python")
    assert compiled is not None
    tree = compiled.parser.parse(AWKWARD)
    rows: dict[str, set[int]] = {}
    for n in QueryCursor(compiled.query).captures(tree.root_node)["ref"]:
        name = AWKWARD[n.start_byte : n.end_byte].decode("utf-8", "replace")
        if len(name) > 1:
            rows.setdefault(name, set()).add(n.start_point.row + 1)
    expected = {name: tuple(sorted(lines)[:MAX_REF_LINES]) for name, lines in rows.items()}
    got = extract("awkward.py", "python", AWKWARD)
    assert got.ref_lines == expected
    assert got.refs["delta"] == MAX_REF_LINES + 3 and len(got.ref_lines["delta"]) == MAX_REF_LINES
    assert got.ref_lines["epsilon"] == (4,)  # a lone CR is no line break to tree-sitter


def test_literals_children_are_read_only_where_a_grammar_can_nest_them() -> None:
    nesting = {lang for lang in LANGUAGES if (c := _compile(lang)) is not None and c.nested_strings}
    assert nesting == {"php", "swift", "scala"}
    for language, (source, expected) in LITERALS.items():
        compiled = _compile(language)
        assert compiled is not None and detect_language(f"f.{EXTENSIONS[language]}") == language
        src = source.encode()
        captures = QueryCursor(compiled.query).captures(compiled.parser.parse(src).root_node)
        nodes, statements = captures["str"], captures.get("stmt", [])
        assert list(_strings(nodes, src, compiled.nested_strings, statements)) == expected
        assert _strings(nodes, src, True, statements) == _strings(
            nodes, src, compiled.nested_strings, statements
        )


def test_git_is_read_while_the_files_parse_and_never_left_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = make_repo(tmp_path / "repo")
    real = workspace.load_history
    parsing = threading.Event()
    readers: list[str] = []

    def load_history(*args: Any) -> Any:
        readers.append(threading.current_thread().name)
        assert parsing.wait(timeout=60)  # the parse has begun: both run at once
        time.sleep(0.2)  # still reading when a failed parse gives up
        return real(*args)

    real_parse = Workspace._parse

    def parse(self: Workspace, run: Any, full: bool) -> None:
        parsing.set()
        real_parse(self, run, full)

    monkeypatch.setattr(workspace, "load_history", load_history)
    monkeypatch.setattr(Workspace, "_parse", parse)
    ws = Workspace(str(r.root), Settings())
    snap = ws.refresh()
    assert readers == ["rtk-history"] and snap.history.head == r.head and len(snap.history.commits) == 2

    def broken(self: Workspace, run: Any, full: bool) -> None:
        parsing.set()
        raise RuntimeError("a parser bug")

    monkeypatch.setattr(Workspace, "_parse", broken)
    with pytest.raises(RuntimeError, match="a parser bug"):
        ws.refresh(full=True)
    # the refresh waited for git before giving up: nothing reads after it
    assert len(readers) == 2 and not any(t.name == "rtk-history" for t in threading.enumerate())
    ws.close()


class _WritesOnTeardown:
    def __init__(self, path: str) -> None:
        self.path = path

    def __del__(self) -> None:
        Path(self.path).write_text("torn down")


_KEPT: list[object] = []


def _log_and_keep(log_path: str, teardown_path: str) -> int:
    """Runs in a parser process: a log record held in a buffer, an object freed only at teardown."""
    import logging.handlers

    buffered = logging.handlers.MemoryHandler(10_000, target=logging.FileHandler(log_path))
    logging.getLogger("rtk-test-worker").addHandler(buffered)
    logging.getLogger("rtk-test-worker").warning("parsed in a worker")
    _KEPT.append(_WritesOnTeardown(teardown_path))
    return os.getpid()


def test_a_parser_process_ends_without_tearing_down_yet_flushes_its_log(tmp_path: Path) -> None:
    log_path, teardown_path = tmp_path / "worker.log", tmp_path / "teardown"
    pool = ProcessPoolExecutor(
        1, mp_context=multiprocessing.get_context("spawn"), initializer=worker_init, initargs=(os.getpid(),)
    )
    try:
        pid = pool.submit(_log_and_keep, str(log_path), str(teardown_path)).result(timeout=120)
    finally:
        pool.shutdown(wait=True)
    assert pid != os.getpid()
    assert log_path.read_text().strip() == "parsed in a worker"  # logging was shut down
    assert not teardown_path.exists()  # the interpreter was not torn down object by object
