"""The HTTP door over real loopback HTTP, for both ways to run it.

`serve`: a `rtk-lsp serve` subprocess. `lsp`: the language server's embedded endpoint,
started by a real LSP session (pytest-lsp) and announced with `rtk/httpReady`.
Every subprocess gets its own cache and runtime dirs, so nothing touches the user's.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import http.client
import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from gitrepo import held_git, make_billing_repo
from lspclient import stop
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

REPO = Path(__file__).resolve().parents[1]
TASK = "fix the discount rounding in InvoiceCalculator.apply_discount"
START_TIMEOUT = 60
MODES = ["serve", "lsp"]


def make_env(tmp_path: Path) -> dict[str, str]:
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700, exist_ok=True)
    return {
        **os.environ,
        "RTK_LSP_CACHE_DIR": str(tmp_path / "cache"),
        "XDG_RUNTIME_DIR": str(runtime),
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }


def make_slow_tree(root: Path, files: int = 400, functions: int = 400) -> Path:
    """Plain files (no git) big enough that the first index takes seconds on two cores."""
    (root / "pkg").mkdir(parents=True)
    for i in range(files):
        (root / "pkg" / f"mod{i:04d}.py").write_text(
            "".join(
                f"def handler_{i}_{j}(value):\n    return helper_{j}(value) + {i}\n\n\n"
                for j in range(functions)
            )
        )
    return root


# ---- a tiny HTTP client: http.client, so that any Host header can be sent ---------------------


@dataclass
class Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def error(self) -> dict[str, Any]:
        error: dict[str, Any] = self.json()["error"]
        return error


def call(
    url: str,
    method: str,
    path: str,
    body: Any = None,
    *,
    token: str | None = None,
    headers: Mapping[str, str] | None = None,
    raw: bytes | None = None,
    timeout: float = 60,
) -> Reply:
    parts = urlsplit(url)
    assert parts.hostname and parts.port
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        all_headers = {"Host": f"127.0.0.1:{parts.port}", **(headers or {})}
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for name, value in all_headers.items():
            conn.putheader(name, value)
        if data is not None:
            conn.putheader("Content-Type", "application/json")
            conn.putheader("Content-Length", str(len(data)))
        conn.endheaders(data)
        response = conn.getresponse()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        conn.close()


@dataclass
class Target:
    """A running HTTP door and what a client needs to talk to it."""

    mode: str
    url: str
    token: str | None
    root: Path
    env: dict[str, str]
    pid: int
    discovery: Path
    client: LanguageClient | None = None
    proc: asyncio.subprocess.Process | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    async def call(self, method: str, path: str, body: Any = None, **kw: Any) -> Reply:
        kw.setdefault("token", self.token)
        return await asyncio.to_thread(call, self.url, method, path, body, **kw)

    async def plan(self, task: str = TASK, headers: Mapping[str, str] | None = None, **fields: Any) -> Reply:
        body = {"project_root": str(self.root), "task": task, **fields}
        return await self.call("POST", "/v1/plan-context", body, headers=headers)

    async def healthy(self) -> None:
        reply = await self.call("GET", "/v1/health")
        assert reply.status == 200, reply.body
        assert reply.json()["status"] == "ok"

    async def wait_ready(self) -> dict[str, Any]:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            health: dict[str, Any] = (await self.call("GET", "/v1/health")).json()
            if health["roots"] and all(r["state"] != "indexing" for r in health["roots"]):
                return health
            assert time.monotonic() < deadline, "index never finished"
            await asyncio.sleep(0.05)


def discovery_files(env: Mapping[str, str]) -> list[Path]:
    directory = Path(env["XDG_RUNTIME_DIR"]) / "rtk-lsp"
    return sorted(directory.glob("server-*.json")) if directory.is_dir() else []


@contextlib.asynccontextmanager
async def run_serve(
    tmp_path: Path, root: Path, *args: str, env: dict[str, str] | None = None
) -> AsyncIterator[Target]:
    env = env or make_env(tmp_path)
    stderr = open(tmp_path / f"serve-{time.monotonic_ns()}.err", "wb")  # noqa: SIM115 (closed below)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "rtk_lsp",
        "serve",
        "--root",
        str(root),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=stderr,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), START_TIMEOUT)).decode()
        match = re.fullmatch(r"listening on (http://127\.0\.0\.1:(\d+))\n", line)
        assert match, f"first line was {line!r}"
        [path] = discovery_files(env)
        info = json.loads(path.read_text())
        yield Target("serve", match.group(1), info["token"], root.resolve(), env, proc.pid, path, proc=proc)
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 20)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        stderr.close()


@contextlib.asynccontextmanager
async def run_lsp(tmp_path: Path, root: Path, env: dict[str, str] | None = None) -> AsyncIterator[Target]:
    env = env or make_env(tmp_path)
    config = ClientServerConfig(server_command=[sys.executable, "-m", "rtk_lsp.server.lsp"], server_env=env)
    client = await config.start()
    ready: list[Any] = []

    @client.feature("rtk/httpReady")
    def _on_ready(params: Any) -> None:
        ready.append(params)

    try:
        await asyncio.wait_for(
            client.initialize_session(
                types.InitializeParams(
                    capabilities=client_capabilities("visual-studio-code"),
                    workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
                )
            ),
            START_TIMEOUT,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while not ready:
            assert time.monotonic() < deadline, "no rtk/httpReady"
            await asyncio.sleep(0.02)
        params = ready[0]
        url = params["url"] if isinstance(params, dict) else params.url
        port = params["port"] if isinstance(params, dict) else params.port
        assert url == f"http://127.0.0.1:{port}"
        [path] = discovery_files(env)
        info = json.loads(path.read_text())
        assert info["url"] == url
        server = client._server
        assert server is not None
        yield Target("lsp", url, info["token"], root.resolve(), env, server.pid, path, client=client)
        await asyncio.wait_for(client.shutdown_session(), 30)
    finally:
        await stop(client)


def run_door(mode: str, tmp_path: Path, root: Path, env: dict[str, str] | None = None) -> Any:
    return run_serve(tmp_path, root, env=env) if mode == "serve" else run_lsp(tmp_path, root, env)


def cli(env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "rtk_lsp", *args], env=dict(env), capture_output=True, timeout=120, check=False
    )


def without_timings(text: bytes) -> bytes:
    return re.sub(rb'"elapsed_ms": \{[^}]*\}', b'"elapsed_ms": {}', text)


# ---- every endpoint's success path ---------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_endpoints(mode: str, tmp_path: Path) -> None:
    repo = make_billing_repo(tmp_path / "shop")
    async with run_door(mode, tmp_path, repo.root) as door:
        health = await door.wait_ready()
        assert health["version"] and health["roots"] == [
            {
                "root": str(door.root),
                "state": "ready",
                "progress": health["roots"][0]["progress"],
                "error": None,
            }
        ]

        reply = await door.plan(token_budget=0, detail="symbols", format="json", trace=True)
        assert reply.status == 200, reply.body
        assert reply.headers["content-type"].startswith("application/json")
        assert "access-control-allow-origin" not in reply.headers
        result = reply.json()
        assert result["selected"][0]["rel_path"] == "billing/invoice.py"
        assert result["budget_report"]["token_budget"] == 4000  # 0 means the default
        assert result["root"] == str(door.root)

        inner = await door.call(
            "POST", "/v1/plan-context", {"project_root": str(repo.root / "billing"), "task": TASK}
        )
        assert inner.status == 200 and inner.json()["root"] == str(door.root)  # a directory inside a root

        status = (await door.call("GET", "/v1/status")).json()
        assert status["http"] == {"url": door.url}
        [folder] = status["folders"]
        assert folder["root"] == str(door.root) and folder["state"] == "ready"

        refreshed = await door.call("POST", "/v1/refresh", {"project_root": str(repo.root)})
        assert refreshed.status == 200, refreshed.body
        assert refreshed.json()["root"] == str(door.root) and refreshed.json()["refreshes"] >= 2


# ---- CLI and HTTP agree byte for byte ------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_cli_and_http_bytes_agree(mode: str, tmp_path: Path) -> None:
    repo = make_billing_repo(tmp_path / "shop")
    env = make_env(tmp_path)
    # Warm the store first, so that the server and the CLI both load the same snapshot from it
    # and `stats.cache` (hits/misses of the load) agrees too.
    assert cli(env, "index", "--root", str(repo.root)).returncode == 0
    async with run_door(mode, tmp_path, repo.root, env) as door:
        await door.wait_ready()
        over_http = await door.plan(TASK, detail="content", token_budget=3000)
        assert over_http.status == 200
        plan_args = ("plan", TASK, "--root", str(repo.root), "--format", "json", "--detail", "content")
        plan_args += ("--budget", "3000")
        local = await asyncio.to_thread(cli, env, *plan_args, "--no-server")
        assert local.returncode == 0, local.stderr
        assert without_timings(over_http.body) == without_timings(local.stdout)

        before = (await door.call("GET", "/v1/status")).json()["folders"][0]["plans"]
        via_server = await asyncio.to_thread(cli, env, *plan_args)
        assert via_server.returncode == 0, via_server.stderr
        assert without_timings(via_server.stdout) == without_timings(local.stdout)
        after = (await door.call("GET", "/v1/status")).json()["folders"][0]["plans"]
        assert after["hits"] + after["misses"] == before["hits"] + before["misses"] + 1, (
            "served by the server"
        )


# ---- errors, each followed by a request that still works ----------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_errors(mode: str, tmp_path: Path) -> None:
    repo = make_billing_repo(tmp_path / "shop")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.py").write_text("def secret():\n    return 42\n")
    (repo.root / "escape").symlink_to(outside, target_is_directory=True)
    (repo.root / "inner").symlink_to(repo.root / "billing", target_is_directory=True)
    async with run_door(mode, tmp_path, repo.root) as door:
        await door.wait_ready()
        root = str(repo.root)

        async def expect(reply: Reply, status: int, code: str, field: str | None = None) -> None:
            assert reply.status == status, reply.body
            assert reply.headers["content-type"].startswith("application/json")
            error = reply.error
            assert error["code"] == code and error["message"]
            if field is not None:
                assert error["field"] == field and field in error["message"]
            await door.healthy()

        # 400: malformed JSON, a body that is not an object, invalid fields (named)
        await expect(await door.call("POST", "/v1/plan-context", raw=b'{"task": '), 400, "invalid_json")
        await expect(await door.call("POST", "/v1/plan-context", raw=b"[1, 2]"), 400, "invalid_json")
        await expect(await door.call("POST", "/v1/plan-context", raw=b""), 400, "invalid_json")
        bad_fields: list[tuple[dict[str, Any], str]] = [
            ({"project_root": root}, "task"),
            ({"project_root": root, "task": "   "}, "task"),
            ({"project_root": root, "task": TASK, "token_budget": "many"}, "token_budget"),
            ({"project_root": root, "task": TASK, "token_budget": -5}, "token_budget"),
            ({"project_root": root, "task": TASK, "detail": "everything"}, "detail"),
            ({"project_root": root, "task": TASK, "format": "text"}, "format"),
            ({"project_root": root, "task": TASK, "trace": "yes"}, "trace"),
            ({"project_root": root, "task": TASK, "legacy": True}, "legacy"),
            ({"task": TASK}, "project_root"),
            ({"project_root": "shop", "task": TASK}, "project_root"),
            ({"project_root": 7, "task": TASK}, "project_root"),
            ({"project_root": str(repo.root / "README.md"), "task": TASK}, "project_root"),
        ]
        for body, name in bad_fields:
            await expect(await door.call("POST", "/v1/plan-context", body), 400, "invalid_request", name)
        await expect(await door.call("POST", "/v1/refresh", {}), 400, "invalid_request", "project_root")

        # 401: no token, a wrong one, another scheme
        for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": f"Basic {door.token}"}):
            reply = await door.call(
                "POST", "/v1/plan-context", {"project_root": root, "task": TASK}, token=None, headers=headers
            )
            await expect(reply, 401, "unauthorized")
            assert reply.headers["www-authenticate"].startswith("Bearer")
        await expect(await door.call("GET", "/v1/health", token="x" * 43), 401, "unauthorized")

        # 403: a root not served, and a symlink inside a served root that leads out of it
        await expect(await door.plan(project_root=str(outside)), 403, "root_not_served", "project_root")
        await expect(await door.plan(project_root=str(repo.root / "escape")), 403, "root_not_served")
        await expect(await door.plan(project_root=str(repo.root / "escape" / "..")), 403, "root_not_served")
        await expect(
            await door.call("POST", "/v1/refresh", {"project_root": str(outside)}), 403, "root_not_served"
        )
        inside = await door.plan(project_root=str(repo.root / "inner"))  # a link that stays inside is fine
        assert inside.status == 200 and "secret" not in inside.body.decode()

        # 403: a foreign Host (DNS rebinding) and any browser Origin; checked before the token
        for host in ("evil.example", "evil.example:80", "127.0.0.1.nip.io", "[::2]:8080", "0.0.0.0", ""):
            reply = await door.call("GET", "/v1/health", headers={"Host": host})
            await expect(reply, 403, "host_not_allowed")
        for host in ("localhost", f"localhost:{urlsplit(door.url).port}", "127.0.0.2", "[::1]:1"):
            assert (await door.call("GET", "/v1/health", headers={"Host": host})).status == 200, host
        await expect(
            await door.call("GET", "/v1/health", headers={"Origin": "http://127.0.0.1"}),
            403,
            "origin_not_allowed",
        )

        # 404, 405 (with Allow), 413
        await expect(await door.call("GET", "/v1/nothing"), 404, "not_found")
        await expect(await door.call("GET", "/plan-context"), 404, "not_found")
        reply = await door.call("GET", "/v1/plan-context")
        await expect(reply, 405, "method_not_allowed")
        assert reply.headers["allow"] == "POST"
        await expect(await door.call("DELETE", "/v1/health"), 405, "method_not_allowed")
        await expect(await door.call("OPTIONS", "/v1/plan-context"), 405, "method_not_allowed")
        big = json.dumps({"project_root": root, "task": "x" * (1024 * 1024)}).encode()
        await expect(await door.call("POST", "/v1/plan-context", raw=big), 413, "body_too_large")
        just_under = json.dumps(
            {"project_root": root, "task": TASK, "pad": "y" * (1024 * 1024 - 200)}
        ).encode()
        assert len(just_under) < 1024 * 1024
        assert (await door.call("POST", "/v1/plan-context", raw=just_under)).status == 200

        reply = await door.plan()
        assert reply.status == 200 and reply.json()["selected"][0]["rel_path"] == "billing/invoice.py"


def wait_for_some(futures: list[concurrent.futures.Future[Any]], count: int) -> None:
    pending = set(futures)
    while len(futures) - len(pending) < count:
        done, pending = concurrent.futures.wait(
            pending, timeout=START_TIMEOUT, return_when=concurrent.futures.FIRST_COMPLETED
        )
        assert done, f"fewer than {count} requests were answered"


@pytest.mark.parametrize("mode", MODES)
async def test_503_while_the_first_index_builds_and_when_overloaded(mode: str, tmp_path: Path) -> None:
    repo = make_billing_repo(tmp_path / "shop")
    env = make_env(tmp_path)
    gate = held_git(tmp_path, env)  # the first index waits for the test, not for the machine
    # A wait far longer than the test needs: the admitted plans wait for the gate, not a clock.
    door_cm = (
        run_serve(tmp_path, repo.root, "--wait-timeout", "120", env=env)
        if mode == "serve"
        else run_lsp(tmp_path, repo.root, env)
    )
    async with door_cm as door:
        # Past the wait (the client asked for none): 503 with Retry-After and the progress.
        reply = await door.plan("fix the discount rounding", headers={"Prefer": "wait=0"})
        assert reply.status == 503, reply.body
        assert reply.error["code"] == "index_not_ready" and int(reply.headers["retry-after"]) >= 1
        assert set(reply.error["progress"]) == {"phase", "done", "total"}
        await door.healthy()

        # 80 distinct plans waiting for the index: 64 are admitted, the rest are told to come back.
        with concurrent.futures.ThreadPoolExecutor(80) as pool:
            futures = [
                pool.submit(
                    call,
                    door.url,
                    "POST",
                    "/v1/plan-context",
                    {"project_root": str(repo.root), "task": f"tax_for rounds region {i} badly"},
                    token=door.token,
                    headers={"Prefer": "wait=60"},
                )
                for i in range(80)
            ]
            # The 16 turned away answer at once; the admitted ones wait for the gate.
            await asyncio.to_thread(wait_for_some, futures, 16)
            gate.touch()
            replies = await asyncio.gather(*(asyncio.wrap_future(f) for f in futures))
        statuses = [r.status for r in replies]
        assert sorted(set(statuses)) == [200, 503], statuses
        overloaded = [r for r in replies if r.status == 503]
        assert len(overloaded) == 16, statuses
        for r in overloaded:
            assert r.error["code"] == "overloaded" and r.headers["retry-after"] == "1"
        await door.healthy()
        await door.wait_ready()
        assert (await door.plan("fix the discount rounding")).status == 200


async def test_identical_concurrent_plans_share_one_computation(tmp_path: Path) -> None:
    repo = make_billing_repo(tmp_path / "shop")
    async with run_serve(tmp_path, repo.root) as door:
        await door.wait_ready()
        before = (await door.call("GET", "/v1/status")).json()["folders"][0]["plans"]
        replies = await asyncio.gather(*(door.plan("tax_for rounds eu rates badly") for _ in range(30)))
        assert {r.status for r in replies} == {200}
        assert len({r.body for r in replies}) == 1
        after = (await door.call("GET", "/v1/status")).json()["folders"][0]["plans"]
        assert after["misses"] == before["misses"] + 1
        assert after["hits"] == before["hits"] + 29


async def test_a_refresh_does_not_block_plans(tmp_path: Path) -> None:
    root = make_slow_tree(tmp_path / "slow", files=300)
    async with run_serve(tmp_path, root, "--no-watch") as door:
        await door.wait_ready()
        assert (await door.plan("handler_3_3 overflows")).status == 200
        for path in (root / "pkg").iterdir():  # every file changes: the full refresh re-parses all
            path.write_text(path.read_text() + "\n\ndef extra():\n    return 1\n")
        refresh = asyncio.ensure_future(door.call("POST", "/v1/refresh", {"project_root": str(root)}))
        await asyncio.sleep(0.3)
        assert not refresh.done(), "the refresh was too quick to test anything"
        started = time.monotonic()
        reply = await door.plan("handler_5_2 misbehaves")
        took = time.monotonic() - started
        assert reply.status == 200
        assert not refresh.done(), "the plan waited for the refresh"
        assert took < 1.0
        assert (await refresh).status == 200


# ---- discovery ---------------------------------------------------------------------------------


async def test_discovery_file_lifecycle_and_signals(tmp_path: Path) -> None:
    repo = make_billing_repo(tmp_path / "shop")
    for sig in (signal.SIGTERM, signal.SIGINT):
        async with run_serve(tmp_path, repo.root) as door:
            path = door.discovery
            directory = path.parent
            assert stat.S_IMODE(directory.stat().st_mode) == 0o700
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
            info = json.loads(path.read_text())
            assert info["pid"] == door.pid and info["url"] == door.url and info["kind"] == "serve"
            assert info["roots"] == [str(door.root)] and len(info["token"]) >= 32
            assert path.name == f"server-{door.pid}.json"
            await door.healthy()
            assert door.proc is not None
            door.proc.send_signal(sig)
            assert await asyncio.wait_for(door.proc.wait(), 20) == 0
            assert not path.exists()


@pytest.mark.parametrize("mode", MODES)
async def test_discovery_removed_on_exit(mode: str, tmp_path: Path) -> None:
    repo = make_billing_repo(tmp_path / "shop")
    env = make_env(tmp_path)
    async with run_door(mode, tmp_path, repo.root, env) as door:
        info = json.loads(door.discovery.read_text())
        assert info["kind"] == mode and info["roots"] == [str(door.root)]
        assert stat.S_IMODE(door.discovery.stat().st_mode) == 0o600
    assert discovery_files(env) == []


async def test_stale_discovery_file_of_a_killed_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rtk_lsp.plan.request import PlanRequest
    from rtk_lsp.server import discovery

    repo = make_billing_repo(tmp_path / "shop")
    env = make_env(tmp_path)
    async with run_serve(tmp_path, repo.root, env=env) as door:
        assert door.proc is not None
        door.proc.kill()
        await door.proc.wait()
        stale = door.discovery
        assert stale.exists(), "SIGKILL leaves the file behind"

    # The CLI falls back to computing in-process, and cleans the file on the way.
    local = await asyncio.to_thread(cli, env, "plan", TASK, "--root", str(repo.root), "--format", "paths")
    assert local.returncode == 0, local.stderr
    assert local.stdout.decode().splitlines()[0] == "billing/invoice.py"
    assert not stale.exists()

    # And a reader finds no server fast.
    monkeypatch.setenv("XDG_RUNTIME_DIR", env["XDG_RUNTIME_DIR"])
    stale.write_text(
        json.dumps(
            {"pid": 2**22 + 12345, "url": "http://127.0.0.1:9", "token": "t", "roots": [str(repo.root)]}
        )
    )
    started = time.perf_counter()
    assert discovery.plan_via_running_server(str(repo.root), PlanRequest(TASK)) is None
    assert time.perf_counter() - started < 0.05
    assert not stale.exists()


async def test_idle_timeout(tmp_path: Path) -> None:
    repo = make_billing_repo(tmp_path / "shop")
    async with run_serve(tmp_path, repo.root, "--idle-timeout", "1.5") as door:
        await door.healthy()
        assert door.proc is not None
        started = time.monotonic()
        assert await asyncio.wait_for(door.proc.wait(), 20) == 0
        assert 1.0 <= time.monotonic() - started < 10
        assert not door.discovery.exists()


async def test_watcher_sees_new_files_and_commits(tmp_path: Path) -> None:
    repo = make_billing_repo(tmp_path / "shop")
    task = "compute_loyalty_points is off by one"
    async with run_serve(tmp_path, repo.root) as door:
        await door.wait_ready()
        assert all(s["rel_path"] != "users/loyalty.py" for s in (await door.plan(task)).json()["selected"])
        repo.write("users/loyalty.py", "def compute_loyalty_points(orders):\n    return len(orders) + 1\n")
        deadline = time.monotonic() + 20
        while (await door.plan(task)).json()["selected"][0]["rel_path"] != "users/loyalty.py":
            assert time.monotonic() < deadline, "the new file never reached the plan"
            await asyncio.sleep(0.1)
        head = repo.commit("loyalty points")
        deadline = time.monotonic() + 20
        while (await door.plan(task)).json()["stats"]["history_head"] != head:
            assert time.monotonic() < deadline, "the commit never reached the plan"
            await asyncio.sleep(0.1)


async def test_no_auth_is_loud_and_open(tmp_path: Path) -> None:
    repo = make_billing_repo(tmp_path / "shop")
    async with run_serve(tmp_path, repo.root, "--no-auth") as door:
        assert door.token is None
        await door.wait_ready()
        assert (await door.plan()).status == 200
        assert (await door.call("GET", "/v1/health", headers={"Host": "evil.example"})).status == 403
    [err] = sorted(tmp_path.glob("serve-*.err"))
    assert "--no-auth" in err.read_text() and "WARNING" in err.read_text()


async def test_allowed_parent_serves_projects_on_request(tmp_path: Path) -> None:
    work = tmp_path / "work"
    repo = make_billing_repo(work / "shop")
    other = tmp_path / "other"
    other.mkdir()
    env = make_env(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    async with run_serve(tmp_path, empty, "--allow", str(work), env=env) as door:
        reply = await door.call(
            "POST",
            "/v1/plan-context",
            {"project_root": str(repo.root / "billing"), "task": TASK},
            headers={"Prefer": "wait=30"},
        )
        assert reply.status == 200, reply.body
        assert reply.json()["root"] == str(repo.root.resolve())  # the git work tree, not the subdirectory
        info = json.loads(door.discovery.read_text())
        assert str(repo.root.resolve()) in info["roots"] and info["allow"] == [str(work.resolve())]
        assert (await door.plan(project_root=str(other))).status == 403


def test_serve_port_taken(tmp_path: Path) -> None:
    import socket

    repo = make_billing_repo(tmp_path / "shop")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        result = cli(make_env(tmp_path), "serve", "--root", str(repo.root), "--port", str(port))
    assert result.returncode == 1 and b"cannot listen" in result.stderr
    assert result.stdout == b""
