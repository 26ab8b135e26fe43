"""Bad luck: a full disk, a read-only cache, a database deleted or taken over by another version,
a refresh stuck in git when SIGTERM comes, kill -9 in the middle of a parallel parse, a FIFO or
a dead mount where the event loop reads. The index is a cache: none of this may lose the user's
data, fail a plan, hang a process or leave one behind.

Disk faults use a real, small tmpfs where this machine lets the tests mount one (root); the
store's error taxonomy is also checked everywhere with errors raised at the SQLite layer
(tests/unit/test_store_faults.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from gitrepo import held, held_git, make_billing_repo
from lsprotocol import types
from procs import all_gone, cmdline, fill, parse_workers, stat_fields, tmpfs
from servers import (
    REPO,
    cli,
    initialize,
    make_env,
    request,
    run_serve,
    start_client,
    stop,
    wait_indexed,
)

from rtk_lsp.index.store import Store
from rtk_lsp.paths import db_path_for

pytestmark = pytest.mark.timeout(300)


def index_json(env: dict[str, str], root: Path) -> dict[str, Any]:
    # cwd "/": `python -m` puts the working directory first on sys.path; import what env says
    result = cli(env, "index", "--root", str(root), "--format", "json", cwd="/")
    assert result.returncode == 0, result.stderr[-3000:]
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


def db_of(env: dict[str, str], root: Path) -> Path:
    saved = os.environ.get("RTK_LSP_CACHE_DIR")
    os.environ["RTK_LSP_CACHE_DIR"] = env["RTK_LSP_CACHE_DIR"]
    try:
        return Path(db_path_for(str(root)))
    finally:
        if saved is None:
            del os.environ["RTK_LSP_CACHE_DIR"]
        else:
            os.environ["RTK_LSP_CACHE_DIR"] = saved


def corrupt_copies(db: Path) -> list[Path]:
    return sorted(db.parent.glob(db.name + ".corrupt-*"))


def memory_only(summary: dict[str, Any]) -> bool:
    return any("running in memory only" in n for n in summary["notes"])


# ---- a small tmpfs ------------------------------------------------------------------------------


def test_full_disk_runs_in_memory_and_keeps_the_database(tmp_path: Path) -> None:
    repo = make_billing_repo(tmp_path / "shop")
    with tmpfs(tmp_path / "cache", "2m") as cache:
        env = make_env(tmp_path)
        assert index_json(env, repo.root)["files"] == 7
        db = db_of(env, repo.root)
        inode = db.stat().st_ino
        filler = fill(cache)
        repo.write(
            "billing/tax.py", repo.root.joinpath("billing/tax.py").read_text() + "\n\ndef vat():\n    pass\n"
        )

        summary = index_json(env, repo.root)
        assert summary["files"] == 7 and memory_only(summary), summary["notes"]
        assert not any("corrupt" in n for n in summary["notes"]), summary["notes"]
        assert db.stat().st_ino == inode and corrupt_copies(db) == []

        filler.unlink()
        warm = index_json(env, repo.root)  # the kept database serves again
        assert not memory_only(warm), warm["notes"]
        assert (warm["cache"]["hits"], warm["cache"]["misses"]) == (6, 1)


def test_read_only_cache_runs_in_memory_and_keeps_the_database(tmp_path: Path) -> None:
    repo = make_billing_repo(tmp_path / "shop")
    with tmpfs(tmp_path / "cache", "2m") as cache:
        env = make_env(tmp_path)
        index_json(env, repo.root)
        db = db_of(env, repo.root)
        before = {p.name: hashlib.sha1(p.read_bytes()).hexdigest() for p in cache.iterdir()}
        subprocess.run(["mount", "-o", "remount,ro", str(cache)], check=True)
        try:
            repo.write("users/extra.py", "def extra_user_thing():\n    pass\n")
            summary = index_json(env, repo.root)
            assert summary["files"] == 8 and memory_only(summary), summary["notes"]
            assert not any("corrupt" in n for n in summary["notes"]), summary["notes"]
        finally:
            subprocess.run(["mount", "-o", "remount,rw", str(cache)], check=True)
        after = {p.name: hashlib.sha1(p.read_bytes()).hexdigest() for p in cache.iterdir()}
        assert after == before and corrupt_copies(db) == []


def test_a_database_path_that_cannot_be_opened_is_left_alone(tmp_path: Path) -> None:
    repo = make_billing_repo(tmp_path / "shop")
    env = make_env(tmp_path)
    db = db_of(env, repo.root)
    db.mkdir(parents=True)  # SQLITE_CANTOPEN, not corruption
    (db / "keep-me").write_text("mine")
    summary = index_json(env, repo.root)
    assert summary["files"] == 7 and memory_only(summary), summary["notes"]
    assert (db / "keep-me").read_text() == "mine" and corrupt_copies(db) == []


def test_database_files_are_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = make_billing_repo(tmp_path / "shop")
    env = make_env(tmp_path)
    del env["RTK_LSP_CACHE_DIR"]
    env["XDG_CACHE_HOME"] = str(tmp_path / "xdg")
    cache = tmp_path / "xdg" / "rtk-lsp"
    cache.mkdir(parents=True, mode=0o755)  # as an older version left it
    cache.chmod(0o755)
    index_json(env, repo.root)
    monkeypatch.setenv("XDG_CACHE_HOME", env["XDG_CACHE_HOME"])
    monkeypatch.delenv("RTK_LSP_CACHE_DIR", raising=False)
    db = Path(db_path_for(str(repo.root)))
    assert db.parent == cache and stat.S_IMODE(cache.stat().st_mode) == 0o700
    db.chmod(0o644)  # a database an older version made
    store = Store(str(repo.root))
    try:
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in cache.iterdir()}
        assert {db.name, db.name + "-wal", db.name + "-shm"} <= set(modes)
        assert set(modes.values()) == {0o600}, modes
    finally:
        store.close()


# ---- a database deleted, or taken over by another version, while a server uses it ------------------


async def test_a_database_deleted_while_serving_is_recreated(tmp_path: Path) -> None:
    repo = make_billing_repo(tmp_path / "shop")
    env = make_env(tmp_path)
    db = db_of(env, repo.root)
    async with run_serve(tmp_path, repo.root, "--no-watch", env=env) as door:
        assert (await door.plan()).status == 200
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        repo.write("users/loyalty.py", "def loyalty_points(orders):\n    return len(orders)\n")
        assert (await door.call("POST", "/v1/refresh", {"project_root": str(door.root)})).status == 200
        assert db.exists(), "the deleted database was not noticed"
    warm = index_json(env, repo.root)
    assert (warm["cache"]["hits"], warm["cache"]["misses"]) == (8, 0)


def another_version(tmp_path: Path) -> dict[str, str]:
    """A copy of this rtk-lsp whose extraction code differs: a different store format."""
    other = tmp_path / "other-version"
    shutil.copytree(REPO / "rtk_lsp", other / "rtk_lsp", ignore=shutil.ignore_patterns("__pycache__"))
    with open(other / "rtk_lsp" / "index" / "parse" / "__init__.py", "a") as f:
        f.write("\n# another version\n")
    return {"PYTHONPATH": str(other)}


async def test_two_versions_on_one_store_never_trust_each_others_rows(tmp_path: Path) -> None:
    repo = make_billing_repo(tmp_path / "shop")
    env = make_env(tmp_path)
    other = {**env, **another_version(tmp_path)}
    async with run_serve(tmp_path, repo.root, "--no-watch", env=env) as door:
        assert (await door.plan()).status == 200
        assert index_json(other, repo.root)["cache"]["misses"] == 7  # it re-stamped the store as its own
        repo.write(
            "billing/tax.py", repo.root.joinpath("billing/tax.py").read_text() + "\n\ndef vat():\n    pass\n"
        )
        reply = await door.call("POST", "/v1/refresh", {"project_root": str(door.root)})
        assert reply.status == 200, reply.body
        assert any("another rtk-lsp version" in n for n in reply.json()["notes"]), reply.body
    # The server wrote none of its rows into the other version's store: its tax.py is re-read.
    again = index_json(other, repo.root)
    assert (again["cache"]["hits"], again["cache"]["misses"]) == (6, 1)


# ---- signals and dying parents -------------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_serve_stops_on_a_signal_during_a_stuck_refresh(tmp_path: Path, sig: signal.Signals) -> None:
    repo = make_billing_repo(tmp_path / "shop")
    env = make_env(tmp_path)
    gate = held_git(tmp_path, env)  # the first index waits in `git ls-files` as long as the test wants
    try:
        async with run_serve(tmp_path, repo.root, env=env) as door:
            await held(gate)
            assert door.proc is not None
            door.proc.send_signal(sig)
            assert await asyncio.wait_for(door.proc.wait(), 30) == 0
            assert not door.discovery.exists()
    finally:
        gate.touch()  # the held git (an orphan now) goes on and ends


async def _kill_during_parse(pid: int, progress: Callable[[], Awaitable[tuple[str, int, int]]]) -> list[str]:
    below = await parse_workers(pid, progress)
    os.kill(pid, signal.SIGKILL)
    return await all_gone(below)


def _parse_heavy_tree(root: Path) -> Path:
    (root / "pkg").mkdir(parents=True)
    for i in range(400):
        (root / "pkg" / f"mod{i:03d}.py").write_text(
            "".join(
                f"def handler_{i}_{j}(value):\n    return helper_{j}(value) + {i}\n\n\n" for j in range(100)
            )
        )
    return root


async def test_kill_9_during_a_parallel_parse_leaves_no_process_behind_index(tmp_path: Path) -> None:
    root = _parse_heavy_tree(tmp_path / "tree")
    master, terminal = os.openpty()  # its progress bar goes to a terminal only
    proc = subprocess.Popen(
        [sys.executable, "-m", "rtk_lsp", "index", "--root", str(root)],
        env=make_env(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=terminal,
    )
    os.close(terminal)
    shown = bytearray()

    async def progress() -> tuple[str, int, int]:
        shown.extend(await asyncio.to_thread(os.read, master, 4096))
        bars = re.findall(rb"parse +\[[#.]*\] (\d+)/(\d+)", bytes(shown))
        return ("parse", int(bars[-1][0]), int(bars[-1][1])) if bars else ("", 0, 0)

    try:
        assert await _kill_during_parse(proc.pid, progress) == []
    finally:
        proc.kill()
        proc.wait()
        os.close(master)


async def test_kill_9_during_a_parallel_parse_leaves_no_process_behind_serve(tmp_path: Path) -> None:
    root = _parse_heavy_tree(tmp_path / "tree")
    async with run_serve(tmp_path, root, env=make_env(tmp_path)) as door:

        async def progress() -> tuple[str, int, int]:
            shown = (await door.call("GET", "/v1/health")).json()["roots"][0]["progress"]
            return shown["phase"], shown["done"], shown["total"]

        assert await _kill_during_parse(door.pid, progress) == []


async def test_kill_9_during_a_parallel_parse_leaves_no_process_behind_lsp(tmp_path: Path) -> None:
    root = _parse_heavy_tree(tmp_path / "tree")
    client = await start_client(make_env(tmp_path))
    try:
        await initialize(client, root)
        server = client._server
        assert server is not None

        async def progress() -> tuple[str, int, int]:
            shown = (await request(client, "rtk/status", {}))["folders"][0]["progress"]
            return shown["phase"], shown["done"], shown["total"]

        assert await _kill_during_parse(server.pid, progress) == []
    finally:
        await stop(client)


def test_a_cli_that_used_parser_workers_leaves_no_process_when_it_exits(tmp_path: Path) -> None:
    root = _parse_heavy_tree(tmp_path / "tree")
    proc = subprocess.Popen(
        [sys.executable, "-m", "rtk_lsp", "index", "--root", str(root)],
        env=make_env(tmp_path),
        stdout=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: whatever it started is in it
    )
    assert proc.wait(timeout=240) == 0
    left = [
        p
        for p in map(int, filter(str.isdigit, os.listdir("/proc")))
        if (fields := stat_fields(p)) is not None and int(fields[2]) == proc.pid and fields[0] != "Z"
    ]
    assert left == [], [cmdline(p) for p in left]


# ---- the event loop never waits on a file ----------------------------------------------------------


async def test_a_fifo_head_does_not_freeze_the_server(tmp_path: Path) -> None:
    repo = make_billing_repo(tmp_path / "shop")
    env = make_env(tmp_path, RTK_LSP_GIT_TIMEOUT="3")
    async with run_serve(tmp_path, repo.root, "--no-watch", env=env) as door:
        assert (await door.plan()).status == 200
        head = repo.root / ".git" / "HEAD"
        head.unlink()
        os.mkfifo(head)  # as good as a file on a dead network mount: opening it never returns
        body = {"project_root": str(door.root), "task": "fix the discount rounding"}
        plan = asyncio.ensure_future(door.call("POST", "/v1/plan-context", body, timeout=120))
        # The plan meets the FIFO (it cannot finish before git's time limit): the server still answers.
        answered_meanwhile = 0
        while not plan.done():
            assert (await door.call("GET", "/v1/health", timeout=20)).status == 200
            answered_meanwhile += 0 if plan.done() else 1
            await asyncio.sleep(0.2)
        assert (await plan).status == 200
        assert answered_meanwhile >= 2


async def test_opening_a_fifo_in_the_editor_does_not_freeze_the_server(tmp_path: Path) -> None:
    repo = make_billing_repo(tmp_path / "shop")
    fifo = repo.root / "users" / "pipe.py"
    os.mkfifo(fifo)
    client = await start_client(make_env(tmp_path))
    try:
        await initialize(client, repo.root)
        await wait_indexed(client)
        item = types.TextDocumentItem(uri=fifo.as_uri(), language_id="python", version=1, text="")
        client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=item))
        status = await request(client, "rtk/status", {}, timeout=20)
        assert status["folders"][0]["state"] == "ready"
        plan = await request(client, "rtk/planContext", {"task": "fix the discount rounding"}, timeout=60)
        assert plan["selected"][0]["rel_path"] == "billing/invoice.py"
        await asyncio.wait_for(client.shutdown_session(), 30)
    finally:
        await stop(client)


# ---- discovery files -----------------------------------------------------------------------------


def test_a_failed_discovery_write_leaves_no_file(tmp_path: Path) -> None:
    directory = tmp_path / "discovery"
    code = (
        "import resource, signal, sys\n"
        "from rtk_lsp.server.discovery import Announcement\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))  # as a full disk: no byte can be written\n"
        "try:\n"
        "    Announcement('http://127.0.0.1:1', 't', 'serve', [], directory=sys.argv[1]).publish()\n"
        "except OSError as exc:\n"
        "    print('refused', exc.errno)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(directory)],
        env=make_env(tmp_path),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.stdout.decode().startswith("refused"), result
    assert list(directory.iterdir()) == []
