"""Hostile repositories and hostile clients: nothing they hold or send may hang, exhaust or break
the server.

The repository is made here: every file the index reads by name (`go.mod`, `.gitignore`,
`package.json`, `Cargo.toml`, `pyproject.toml`, ...) is a symlink to /dev/zero at the top and a
symlink out of the workspace below it; FIFOs (one of them a `.gitignore`, on which git itself
hangs), file names that are not UTF-8 or hold a newline, a 50 MB file, 500-deep nesting, an
unreadable file, a symlink loop and a symlinked directory leading out. `index`, the language
server and `serve` each run under an address-space limit (and, for root, without the
permission override, so that chmod 000 means unreadable) and must finish in time and plan right.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from gitrepo import GitRepo, make_billing_repo
from lsprotocol import types
from procs import limits
from pygls.exceptions import JsonRpcInvalidParams, JsonRpcInvalidRequest
from servers import (
    Reply,
    Target,
    call,
    cli,
    initialize,
    make_env,
    raw_request,
    request,
    run_serve,
    start_client,
    stop,
    wait_indexed,
)

pytestmark = pytest.mark.timeout(400)

# git hangs on the FIFO `.gitignore` until this limit, then the tree is walked instead.
GIT_TIMEOUT = "3"
# "Generous": what a slow, busy machine needs many times over; a hang or a memory blow-up
# (about 600 MB/s from /dev/zero) ends long before.
DOOR_LIMIT = 150

BY_NAME = (
    "go.mod",
    ".gitignore",
    "package.json",
    "Cargo.toml",
    "pyproject.toml",
    "composer.json",
    "setup.cfg",
    "tsconfig.json",
    "requirements.txt",
    "Gemfile",
    "pom.xml",
    "build.gradle",
    "CMakeLists.txt",
)
DEEP = "/".join(["d"] * 500) + "/deepest.py"
BAD_NAME = b"bad\xffname.py"
NEWLINE_NAME = "new\nline.py"
SHOWN_BAD = '"bad\\377name.py"'
SHOWN_NEWLINE = '"new\\nline.py"'
SECRET = "leaked_outside_secret"


def make_hostile(root: Path, outside: Path, *, git: bool) -> None:
    outside.mkdir(parents=True)
    (outside / "secret.py").write_text(f"def {SECRET}():\n    return 'the secret token'\n")
    (outside / "ignore_all").write_text("*\n")
    files = {
        "app/core.py": "def compute_invoice_total(items):\n    return sum(item.price for item in items)\n",
        "app/helpers.py": "from app.core import compute_invoice_total\n\n\ndef total(x):\n"
        "    return compute_invoice_total(x)\n",
        DEEP: "def deepest_nested_function():\n    return 500\n",
        NEWLINE_NAME: "def newline_name_helper():\n    return 2\n",
        "locked/locked_away.py": "def locked_away_function():\n    return 3\n",
        # enough files that the cold parse runs in worker processes, under the same limits
        **{f"filler/mod{i:03d}.py": f"def filler_function_{i}(v):\n    return v + {i}\n" for i in range(220)},
    }
    repo = GitRepo(root) if git else None
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    with open(os.path.join(os.fsencode(root), BAD_NAME), "wb") as f:
        f.write(b"def undecodable_name_helper():\n    return 1\n")
    with open(root / "app" / "huge.py", "wb") as f:  # 50 MB, sparse: cheap to make, costly to read
        f.write(b"def huge_file_function():\n    pass\n")
        f.truncate(50 << 20)
    (root / "nested").mkdir()
    for name in BY_NAME:
        (root / name).symlink_to("/dev/zero")
        (root / "nested" / name).symlink_to(outside / ("ignore_all" if name == ".gitignore" else "secret.py"))
    (root / "leak.py").symlink_to(outside / "secret.py")
    (root / "outside_dir").symlink_to(outside, target_is_directory=True)
    (root / "loop_a").symlink_to(root / "loop_b")
    (root / "loop_b").symlink_to(root / "loop_a")
    if repo is not None:
        repo.commit("a hostile repository")
    # What git cannot hold: FIFOs (git ls-files hangs reading pipes/.gitignore) and a lost mode.
    (root / "pipes").mkdir()
    for name in (".gitignore", "fifo.py", "go.mod"):
        os.mkfifo(root / "pipes" / name)
    (root / "locked" / "locked_away.py").chmod(0)


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    root = tmp_path / "hostile"
    make_hostile(root, tmp_path / "outside", git=True)
    return root


def hostile_env(tmp_path: Path) -> dict[str, str]:
    return make_env(tmp_path, RTK_LSP_GIT_TIMEOUT=GIT_TIMEOUT)


def check_plan(plan: Mapping[str, Any], top: str) -> None:
    assert plan["selected"] and plan["selected"][0]["rel_path"] == top, [
        s["rel_path"] for s in plan["selected"]
    ]
    shown = json.dumps(plan)
    assert SECRET not in shown and "the secret token" not in shown
    assert not any(s["rel_path"].startswith(("leak", "nested/", "outside_dir")) for s in plan["selected"])


TASKS = {
    "compute_invoice_total sums the wrong field": "app/core.py",
    "deepest_nested_function returns the wrong depth": DEEP,
    "undecodable_name_helper returns 1": SHOWN_BAD,
    "newline_name_helper returns 2": SHOWN_NEWLINE,
}


# ---- the CLI ------------------------------------------------------------------------------------


@pytest.mark.parametrize("git", [True, False], ids=["git", "no-git"])
def test_index_and_plan_a_hostile_repository(tmp_path: Path, git: bool) -> None:
    root = tmp_path / "hostile"
    make_hostile(root, tmp_path / "outside", git=git)
    env = hostile_env(tmp_path)
    started = time.monotonic()
    result = cli(env, "index", "--root", str(root), "--format", "json", timeout=DOOR_LIMIT, preexec=limits())
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-3000:]
    summary = json.loads(result.stdout)
    # core, helpers, huge, deepest, the two odd names, the unreadable one and 220 fillers
    assert summary["files"] == 227, summary
    assert any("walking the tree" in n for n in summary["notes"]), summary["notes"]
    assert len(result.stderr) < 20_000, result.stderr[-2000:]

    for task, top in TASKS.items():
        planned = cli(
            env, "plan", task, "--root", str(root), "--no-server", "--format", "json", preexec=limits()
        )
        assert planned.returncode == 0, planned.stderr.decode(errors="replace")[-3000:]
        plan = json.loads(planned.stdout)
        check_plan(plan, top)
        heading = f"## {top} (score"
        assert heading in plan["context"]
    assert time.monotonic() - started < 5 * DOOR_LIMIT

    # One path a line, whatever the names hold.
    paths = cli(env, "plan", "newline_name_helper", "--root", str(root), "--no-server", "--format", "paths")
    assert paths.returncode == 0, paths.stderr
    assert paths.stdout.decode().splitlines()[0] == SHOWN_NEWLINE


# ---- each hazard on its own (so that each shows its own failure) ---------------------------------


def plan_cli(env: Mapping[str, str], root: Path, task: str, fmt: str = "json") -> Any:
    result = cli(env, "plan", task, "--root", str(root), "--no-server", "--format", fmt, preexec=limits())
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-3000:]
    return json.loads(result.stdout) if fmt == "json" else result.stdout.decode()


def test_go_mod_linked_to_dev_zero(tmp_path: Path) -> None:
    repo = make_billing_repo(tmp_path / "shop")
    (repo.root / "go.mod").symlink_to("/dev/zero")
    repo.commit("go.mod -> /dev/zero")
    plan = plan_cli(make_env(tmp_path), repo.root, "fix the discount rounding in apply_discount")
    assert plan["selected"][0]["rel_path"] == "billing/invoice.py"


def test_a_fifo_gitignore_that_git_hangs_on(tmp_path: Path) -> None:
    repo = make_billing_repo(tmp_path / "shop")
    (repo.root / "pipes").mkdir()
    os.mkfifo(repo.root / "pipes" / ".gitignore")
    plan = plan_cli(hostile_env(tmp_path), repo.root, "fix the discount rounding in apply_discount")
    assert plan["selected"][0]["rel_path"] == "billing/invoice.py"


def test_a_file_name_that_is_not_utf8(tmp_path: Path) -> None:
    repo = make_billing_repo(tmp_path / "shop")
    with open(os.path.join(os.fsencode(repo.root), BAD_NAME), "wb") as f:  # not even tracked
        f.write(b"def undecodable_name_helper():\n    return 1\n")
    plan = plan_cli(make_env(tmp_path), repo.root, "undecodable_name_helper returns 1")
    assert plan["selected"][0]["rel_path"] == SHOWN_BAD


def test_a_newline_in_a_file_name(tmp_path: Path) -> None:
    repo = make_billing_repo(tmp_path / "shop")
    repo.write(NEWLINE_NAME, "def newline_name_helper():\n    return 2\n")
    env = make_env(tmp_path)
    assert plan_cli(env, repo.root, "newline_name_helper returns 2", "paths").splitlines()[0] == SHOWN_NEWLINE
    context = plan_cli(env, repo.root, "newline_name_helper returns 2")["context"]
    assert f"\n## {SHOWN_NEWLINE} (score" in context


def test_an_unreadable_file_is_read_again_once_it_can_be(tmp_path: Path) -> None:
    repo = make_billing_repo(tmp_path / "shop")
    locked = repo.write("users/locked_away.py", "def locked_away_function():\n    return 3\n")
    locked.chmod(0)  # unreadable (for root too: the child runs without the permission override)
    env = make_env(tmp_path)
    before = plan_cli(env, repo.root, "locked_away_function is off")
    assert [s["rel_path"] for s in before["selected"]][:1] != ["users/locked_away.py"]
    locked.chmod(0o644)  # a chmod changes neither size nor mtime
    after = plan_cli(env, repo.root, "locked_away_function is off")
    assert after["selected"][0]["rel_path"] == "users/locked_away.py"


# ---- the language server ------------------------------------------------------------------------


async def test_language_server_on_a_hostile_repository(tmp_path: Path, hostile: Path) -> None:
    client = await start_client(hostile_env(tmp_path), preexec=limits())
    try:
        await initialize(client, hostile)
        status = await wait_indexed(client, timeout=DOOR_LIMIT)
        [folder] = status["folders"]
        assert folder["state"] == "ready", folder
        assert folder["files"] == 227
        for task, top in TASKS.items():
            check_plan(await request(client, "rtk/planContext", {"task": task}), top)
        await asyncio.wait_for(client.shutdown_session(), 30)
    finally:
        await stop(client)


# ---- serve --------------------------------------------------------------------------------------


def serving(tmp_path: Path, root: Path, *args: str, preexec: Any = None) -> Any:
    """`rtk-lsp serve --no-auth` on `root`, git time limit as in `hostile_env`."""
    return run_serve(tmp_path, root, "--no-auth", *args, env=hostile_env(tmp_path), preexec=preexec)


async def post(door: Target, path: str, body: bytes, timeout: float = 60) -> Reply:
    return await asyncio.to_thread(call, door.url, "POST", path, raw=body, timeout=timeout)


async def test_serve_on_a_hostile_repository(tmp_path: Path, hostile: Path) -> None:
    async with serving(tmp_path, hostile, "--wait-timeout", str(DOOR_LIMIT), preexec=limits()) as door:
        for task, top in TASKS.items():
            body = json.dumps({"project_root": str(hostile), "task": task}).encode()
            reply = await post(door, "/v1/plan-context", body, DOOR_LIMIT + 30)
            assert reply.status == 200, reply.body[:2000]
            check_plan(reply.json(), top)


# ---- hostile clients ----------------------------------------------------------------------------


async def test_lone_surrogates_get_json_answers(tmp_path: Path) -> None:
    repo = make_billing_repo(tmp_path / "shop")
    async with serving(tmp_path, repo.root) as door:
        root = str(repo.root.resolve())
        # valid JSON, not valid Unicode: planned, the surrogate replaced
        body = b'{"project_root": "%s", "task": "fix the discount rounding \\ud800"}' % root.encode()
        reply = await post(door, "/v1/plan-context", body)
        assert reply.status == 200, reply.body[:500]
        assert reply.json()["task"] == "fix the discount rounding \ufffd"
        for project_root, expected in ((root + "\\ud800", 400), ("/nowhere/x\\udcff", 403)):
            reply = await post(
                door, "/v1/plan-context", b'{"project_root": "%s", "task": "fix"}' % project_root.encode()
            )
            assert reply.status == expected, reply.body[:500]
            assert reply.headers["content-type"].startswith("application/json")
            assert reply.error["field"] == "project_root"


async def test_a_token_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    repo = make_billing_repo(tmp_path / "shop")
    async with run_serve(tmp_path, repo.root, env=make_env(tmp_path)) as door:
        # http.client sends the header as latin-1: the server sees a byte that is not UTF-8
        reply = await asyncio.to_thread(
            call, door.url, "GET", "/v1/health", headers={"Authorization": "Bearer \xff"}
        )
        assert reply.status == 401 and reply.error["code"] == "unauthorized", reply.body


def _garbage(url: str, count: int) -> None:

    port = urlsplit(url).port
    assert port
    for i in range(count):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: x%d\r\n\r\n" % i)
            with contextlib.suppress(OSError):
                s.recv(4096)


async def test_malformed_requests_do_not_flood_the_log(tmp_path: Path) -> None:
    repo = make_billing_repo(tmp_path / "shop")
    async with serving(tmp_path, repo.root) as door:
        await asyncio.to_thread(_garbage, door.url, 300)
        log = door.extra["stderr"].read_bytes()
    assert log.count(b"Traceback") <= 1, log[:3000]
    assert len(log) < 20_000, len(log)


async def test_running_out_of_file_descriptors_does_not_flood_the_log(tmp_path: Path) -> None:
    repo = make_billing_repo(tmp_path / "shop")
    async with serving(tmp_path, repo.root, "--no-watch", preexec=limits(nofile=96)) as door:
        port = urlsplit(door.url).port
        err = door.extra["stderr"]
        held = []
        try:
            for _ in range(200):  # the kernel queues them; the server runs out of descriptors accepting
                held.append(socket.create_connection(("127.0.0.1", port or 0), timeout=10))
            deadline = time.monotonic() + 60
            while b"out of system resource" not in err.read_bytes():
                assert time.monotonic() < deadline, err.read_bytes()[-2000:]
                await asyncio.sleep(0.1)
            await asyncio.sleep(3)  # the server keeps retrying its accepts meanwhile
            size = len(err.read_bytes())
        finally:
            for s in held:
                s.close()
    assert size < 50_000, err.read_bytes()[:3000]


async def test_lsp_a_second_initialize_is_refused(tmp_path: Path) -> None:
    repo = make_billing_repo(tmp_path / "shop")
    env = make_env(tmp_path)
    client = await start_client(env)
    try:
        await initialize(client, repo.root)
        await wait_indexed(client)
        with pytest.raises(JsonRpcInvalidRequest):
            await raw_request(
                client,
                {"id": "again", "method": "initialize", "params": {"capabilities": {}, "processId": None}},
            )
        client.protocol.notify("initialized", {})
        status = await request(client, "rtk/status", {})
        assert [f["root"] for f in status["folders"]] == [str(repo.root.resolve())]
        servers = list((Path(env["XDG_RUNTIME_DIR"]) / "rtk-lsp").glob("server-*.json"))
        assert len(servers) == 1, servers  # one engine, one HTTP listener
        await asyncio.wait_for(client.shutdown_session(), 30)
    finally:
        await stop(client)


async def test_lsp_requests_after_shutdown_get_invalid_request(tmp_path: Path) -> None:
    repo = make_billing_repo(tmp_path / "shop")
    client = await start_client(make_env(tmp_path))
    try:
        await initialize(client, repo.root)
        await wait_indexed(client)
        await request(client, "shutdown", None)
        with pytest.raises(JsonRpcInvalidRequest):
            await request(client, "rtk/status", {}, timeout=10)
        client.protocol.notify("exit", None)
        server = client._server
        assert server is not None
        assert await asyncio.wait_for(server.wait(), 30) == 0
    finally:
        await stop(client)


async def test_lsp_uris_with_nul(tmp_path: Path) -> None:
    repo = make_billing_repo(tmp_path / "shop")
    client = await start_client(make_env(tmp_path))
    try:
        evil = types.WorkspaceFolder(uri="file:///tmp/evil%00folder", name="evil")
        await initialize(client, repo.root, extra=[evil])
        status = await wait_indexed(client)
        assert [f["root"] for f in status["folders"]] == [str(repo.root.resolve())]
        bad = (repo.root / "billing").as_uri() + "/x%00y.py"
        for params in ({"task": "fix discount", "uri": bad}, {"task": "fix discount", "workspace": bad}):
            with pytest.raises(JsonRpcInvalidParams):
                await request(client, "rtk/planContext", params)
        item = types.TextDocumentItem(uri=bad, language_id="python", version=1, text="x = 1\n")
        client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=item))
        plan = await request(
            client, "rtk/planContext", {"task": "fix the discount rounding in apply_discount"}
        )
        assert plan["selected"][0]["rel_path"] == "billing/invoice.py"
        await asyncio.wait_for(client.shutdown_session(), 30)
    finally:
        await stop(client)


def test_cli_task_with_undecodable_bytes(tmp_path: Path) -> None:
    repo = make_billing_repo(tmp_path / "shop")
    env = make_env(tmp_path)
    task = os.fsdecode(b"fix the discount rounding \xff in apply_discount")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "rtk_lsp",
            "plan",
            task,
            "--root",
            str(repo.root),
            "--no-server",
            "--format",
            "json",
        ],
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    plan = json.loads(result.stdout)
    assert plan["task"] == "fix the discount rounding \ufffd in apply_discount"
    assert plan["selected"][0]["rel_path"] == "billing/invoice.py"
