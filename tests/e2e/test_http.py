"""The HTTP door over real loopback HTTP, for both ways to run it.

`serve`: a `rtk-lsp serve` subprocess. `lsp`: the language server's embedded endpoint,
started by a real LSP session (pytest-lsp) and announced with `rtk/httpReady`.
Every subprocess gets its own cache and runtime dirs, so nothing touches the user's.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import signal
import stat
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from gitrepo import GitRepo, held, held_git, hold, make_billing_repo
from jsonschema import Draft202012Validator
from servers import (
    MODES,
    START_TIMEOUT,
    TASK,
    Reply,
    ServeFactory,
    call,
    cli,
    discovery_files,
    make_env,
    run_lsp,
    without_timings,
)

from rtk_lsp.server.http import MAX_BODY

# ---- every endpoint's success path ---------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_endpoints(
    http_door: ServeFactory, shop: GitRepo, plan_validator: Draft202012Validator, mode: str, tmp_path: Path
) -> None:
    async with http_door(mode, shop.root) as door:
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
        plan_validator.validate(result)
        assert result["selected"][0]["rel_path"] == "billing/invoice.py"
        assert result["budget_report"]["token_budget"] == 4000  # 0 means the default
        assert result["root"] == str(door.root)

        inner = await door.call(
            "POST", "/v1/plan-context", {"project_root": str(shop.root / "billing"), "task": TASK}
        )
        assert inner.status == 200 and inner.json()["root"] == str(door.root)  # a directory inside a root

        status = (await door.call("GET", "/v1/status")).json()
        assert status["http"] == {"url": door.url}
        [folder] = status["folders"]
        assert folder["root"] == str(door.root) and folder["state"] == "ready"

        refreshed = await door.call("POST", "/v1/refresh", {"project_root": str(shop.root)})
        assert refreshed.status == 200, refreshed.body
        assert refreshed.json()["root"] == str(door.root) and refreshed.json()["refreshes"] >= 2


# ---- CLI and HTTP agree byte for byte ------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_cli_and_http_bytes_agree(
    server_env: dict[str, str],
    http_door: ServeFactory,
    shop: GitRepo,
    plan_validator: Draft202012Validator,
    mode: str,
    tmp_path: Path,
) -> None:
    # Warm the store first, so that the server and the CLI both load the same snapshot from it
    # and `stats.cache` (hits/misses of the load) agrees too.
    assert cli(server_env, "index", "--root", str(shop.root)).returncode == 0
    async with http_door(mode, shop.root, server_env) as door:
        await door.wait_ready()
        over_http = await door.plan(TASK, detail="content", token_budget=3000)
        assert over_http.status == 200
        plan_args = ("plan", TASK, "--root", str(shop.root), "--format", "json", "--detail", "content")
        plan_args += ("--budget", "3000")
        local = await asyncio.to_thread(cli, server_env, *plan_args, "--no-server")
        assert local.returncode == 0, local.stderr
        plan_validator.validate(json.loads(local.stdout))
        assert without_timings(over_http.body) == without_timings(local.stdout)

        before = (await door.call("GET", "/v1/status")).json()["folders"][0]["plans"]
        via_server = await asyncio.to_thread(cli, server_env, *plan_args)
        assert via_server.returncode == 0, via_server.stderr
        assert without_timings(via_server.stdout) == without_timings(local.stdout)
        after = (await door.call("GET", "/v1/status")).json()["folders"][0]["plans"]
        assert after["hits"] + after["misses"] == before["hits"] + before["misses"] + 1, (
            "served by the server"
        )


# ---- errors, each followed by a request that still works ----------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_errors(http_door: ServeFactory, shop: GitRepo, mode: str, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.py").write_text("def secret():\n    return 42\n")
    (shop.root / "escape").symlink_to(outside, target_is_directory=True)
    (shop.root / "inner").symlink_to(shop.root / "billing", target_is_directory=True)
    async with http_door(mode, shop.root) as door:
        await door.wait_ready()
        root = str(shop.root)

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
            ({"project_root": str(shop.root / "README.md"), "task": TASK}, "project_root"),
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
        await expect(await door.plan(project_root=str(shop.root / "escape")), 403, "root_not_served")
        await expect(await door.plan(project_root=str(shop.root / "escape" / "..")), 403, "root_not_served")
        await expect(
            await door.call("POST", "/v1/refresh", {"project_root": str(outside)}), 403, "root_not_served"
        )
        inside = await door.plan(project_root=str(shop.root / "inner"))  # a link that stays inside is fine
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
        big = json.dumps({"project_root": root, "task": "x" * MAX_BODY}).encode()
        await expect(await door.call("POST", "/v1/plan-context", raw=big), 413, "body_too_large")
        just_under = json.dumps({"project_root": root, "task": TASK, "pad": "y" * (MAX_BODY - 200)}).encode()
        assert len(just_under) < MAX_BODY
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
async def test_503_while_the_first_index_builds_and_when_overloaded(
    server_env: dict[str, str], serve: ServeFactory, shop: GitRepo, mode: str, tmp_path: Path
) -> None:
    gate = held_git(tmp_path, server_env)  # the first index waits for the test, not for the machine
    # A wait far longer than the test needs: the admitted plans wait for the gate, not a clock.
    door_cm = (
        serve(shop.root, "--wait-timeout", "120", env=server_env)
        if mode == "serve"
        else run_lsp(tmp_path, shop.root, server_env)
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
                    {"project_root": str(shop.root), "task": f"tax_for rounds region {i} badly"},
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


async def test_identical_concurrent_plans_share_one_computation(
    serve: ServeFactory, shop: GitRepo, tmp_path: Path
) -> None:
    async with serve(shop.root) as door:
        await door.wait_ready()
        before = (await door.call("GET", "/v1/status")).json()["folders"][0]["plans"]
        replies = await asyncio.gather(*(door.plan("tax_for rounds eu rates badly") for _ in range(30)))
        assert {r.status for r in replies} == {200}
        assert len({r.body for r in replies}) == 1
        after = (await door.call("GET", "/v1/status")).json()["folders"][0]["plans"]
        assert after["misses"] == before["misses"] + 1
        assert after["hits"] == before["hits"] + 29


async def test_a_refresh_does_not_block_plans(serve: ServeFactory, shop: GitRepo, tmp_path: Path) -> None:
    env = make_env(tmp_path)
    gate = held_git(tmp_path, env)
    gate.touch()  # the first index runs freely
    async with serve(shop.root, "--no-watch", env=env) as door:
        await door.wait_ready()
        assert (await door.plan()).status == 200
        hold(gate)
        refresh = asyncio.ensure_future(door.call("POST", "/v1/refresh", {"project_root": str(door.root)}))
        await held(gate)  # the refresh is under way, stopped at its file listing
        reply = await door.plan("tax_for rounds eu rates badly")
        assert reply.status == 200
        assert not refresh.done(), "the refresh finished while git was held"
        gate.touch()
        assert (await refresh).status == 200


# ---- discovery ---------------------------------------------------------------------------------


async def test_discovery_file_lifecycle_and_signals(
    serve: ServeFactory, shop: GitRepo, tmp_path: Path
) -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        async with serve(shop.root) as door:
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
async def test_discovery_removed_on_exit(
    server_env: dict[str, str], http_door: ServeFactory, shop: GitRepo, mode: str, tmp_path: Path
) -> None:
    async with http_door(mode, shop.root, server_env) as door:
        info = json.loads(door.discovery.read_text())
        assert info["kind"] == mode and info["roots"] == [str(door.root)]
        assert stat.S_IMODE(door.discovery.stat().st_mode) == 0o600
    assert discovery_files(server_env) == []


async def test_stale_discovery_file_of_a_killed_server(
    server_env: dict[str, str],
    serve: ServeFactory,
    shop: GitRepo,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from rtk_lsp.plan.request import PlanRequest
    from rtk_lsp.server import discovery

    async with serve(shop.root, env=server_env) as door:
        assert door.proc is not None
        door.proc.kill()
        await door.proc.wait()
        stale = door.discovery
        assert stale.exists(), "SIGKILL leaves the file behind"

    # The CLI falls back to computing in-process, and cleans the file on the way.
    local = await asyncio.to_thread(
        cli, server_env, "plan", TASK, "--root", str(shop.root), "--format", "paths"
    )
    assert local.returncode == 0, local.stderr
    assert local.stdout.decode().splitlines()[0] == "billing/invoice.py"
    assert not stale.exists()

    # And a reader finds no server fast.
    monkeypatch.setenv("XDG_RUNTIME_DIR", server_env["XDG_RUNTIME_DIR"])
    stale.write_text(
        json.dumps(
            {"pid": 2**22 + 12345, "url": "http://127.0.0.1:9", "token": "t", "roots": [str(shop.root)]}
        )
    )
    started = time.perf_counter()
    assert discovery.plan_via_running_server(str(shop.root), PlanRequest(TASK)) is None
    assert time.perf_counter() - started < 0.05
    assert not stale.exists()


async def test_idle_timeout(serve: ServeFactory, shop: GitRepo, tmp_path: Path) -> None:
    async with serve(shop.root, "--idle-timeout", "1.5") as door:
        await door.healthy()
        assert door.proc is not None
        started = time.monotonic()
        assert await asyncio.wait_for(door.proc.wait(), 20) == 0
        assert 1.0 <= time.monotonic() - started < 10
        assert not door.discovery.exists()


async def test_watcher_sees_new_files_and_commits(serve: ServeFactory, shop: GitRepo, tmp_path: Path) -> None:
    task = "compute_loyalty_points is off by one"
    async with serve(shop.root) as door:
        await door.wait_ready()
        # nothing in the workspace is about loyalty points yet: the plan selects nothing
        assert (await door.plan(task)).json()["selected"] == []
        shop.write("users/loyalty.py", "def compute_loyalty_points(orders):\n    return len(orders) + 1\n")
        deadline = time.monotonic() + 20
        while [s["rel_path"] for s in (await door.plan(task)).json()["selected"][:1]] != ["users/loyalty.py"]:
            assert time.monotonic() < deadline, "the new file never reached the plan"
            await asyncio.sleep(0.1)
        head = shop.commit("loyalty points")
        deadline = time.monotonic() + 20
        while (await door.plan(task)).json()["stats"]["history_head"] != head:
            assert time.monotonic() < deadline, "the commit never reached the plan"
            await asyncio.sleep(0.1)


async def test_no_auth_is_loud_and_open(serve: ServeFactory, shop: GitRepo, tmp_path: Path) -> None:
    async with serve(shop.root, "--no-auth") as door:
        assert door.token is None
        await door.wait_ready()
        assert (await door.plan()).status == 200
        assert (await door.call("GET", "/v1/health", headers={"Host": "evil.example"})).status == 403
    [err] = sorted(tmp_path.glob("serve-*.err"))
    assert "--no-auth" in err.read_text() and "WARNING" in err.read_text()


async def test_allowed_parent_serves_projects_on_request(
    server_env: dict[str, str], serve: ServeFactory, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    repo = make_billing_repo(work / "shop")
    other = tmp_path / "other"
    other.mkdir()
    empty = tmp_path / "empty"
    empty.mkdir()
    async with serve(empty, "--allow", str(work), env=server_env) as door:
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


def test_serve_port_taken(shop: GitRepo, tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        result = cli(make_env(tmp_path), "serve", "--root", str(shop.root), "--port", str(port))
    assert result.returncode == 1 and b"cannot listen" in result.stderr
    assert result.stdout == b""
