"""`rtk-lsp plan` as a process, with and without servers: the same answer for any root, a hint
when a plan computed in process is slow, `--daemon`, and `-v` on either side of the command."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

from gitrepo import GitRepo
from servers import TASK, ServeFactory, call, cli, discovery_files

HINT = "RTK_LSP_SERVER_HINT_AFTER"
HANG_GUARD = 60  # seconds: only ever reached when something is broken


def plan_json(env: dict[str, str], *args: str) -> tuple[dict[str, Any], str]:
    proc = cli(env, "plan", TASK, "--format", "json", *args)
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    return result, proc.stderr.decode()


def plans_served(url: str, token: str) -> int:
    status = call(url, "GET", "/v1/status", token=token).json()
    return sum(f["plans"]["hits"] + f["plans"]["misses"] for f in status["folders"])


async def test_a_subdirectory_root_gets_one_answer_with_or_without_a_server(
    server_env: dict[str, str], serve: ServeFactory, shop: GitRepo
) -> None:
    billing = shop.root / "billing"
    env = {**server_env, HINT: "0"}  # every plan computed in process says so
    alone, _ = plan_json(env, "--root", str(billing))
    async with serve(shop.root, env=server_env) as door:
        await door.wait_ready()
        before = plans_served(door.url, door.token or "")
        with_server, hint = plan_json(env, "--root", str(billing))
        # Not the plan of the served parent, with its paths: the plan of the root asked for.
        assert with_server["root"] == alone["root"] == str(billing.resolve())
        assert [f["rel_path"] for f in with_server["selected"]] == [f["rel_path"] for f in alone["selected"]]
        assert with_server["selected"][0]["rel_path"] == "invoice.py"
        assert plans_served(door.url, door.token or "") == before
        # ...and the one line on stderr says where the warm answer is.
        assert hint.count("\n") == 1 and f"the server running for {door.root} answers --root" in hint

        served, quiet = plan_json(env, "--root", str(shop.root))
        assert served["root"] == str(door.root) and quiet == ""
        assert plans_served(door.url, door.token or "") == before + 1


def test_a_slow_plan_without_a_server_suggests_one(server_env: dict[str, str], shop: GitRepo) -> None:
    root = str(shop.root.resolve())
    _, hint = plan_json({**server_env, HINT: "0"}, "--root", root)
    [line] = hint.splitlines()
    assert line.startswith("rtk-lsp: planned in ") and " s without a server; " in line
    assert f"`rtk-lsp serve --root {root}` keeps the index warm" in line and "--daemon" in line
    assert plan_json({**server_env, HINT: "off"}, "--root", root)[1] == ""
    assert plan_json({**server_env, HINT: "0"}, "--root", root, "--no-server")[1] == ""  # asked for


def test_daemon_starts_a_server_that_answers_this_plan_and_the_next(
    server_env: dict[str, str], shop: GitRepo
) -> None:
    root = str(shop.root.resolve())
    env = {**server_env, HINT: "0"}
    daemon = None
    try:
        first, said = plan_json(env, "--root", root, "--daemon")
        [info_file] = discovery_files(env)
        info = json.loads(info_file.read_text())
        daemon = info["pid"]
        assert info["kind"] == "serve" and info["roots"] == [root]
        assert said == (
            f"rtk-lsp: started `rtk-lsp serve` for {root} in the background (pid {daemon}); "
            "it exits after 30 minutes without a request\n"
        )
        assert first["root"] == root and first["selected"][0]["rel_path"] == "billing/invoice.py"
        assert plans_served(info["url"], info["token"]) == 1  # this plan came from it

        again, quiet = plan_json(env, "--root", root, "--daemon")
        assert quiet == "" and plans_served(info["url"], info["token"]) == 2
        assert again["selected"] == first["selected"]
    finally:
        if daemon is not None:
            stop_daemon(daemon, env)


def stop_daemon(pid: int, env: dict[str, str]) -> None:
    """SIGTERM to the daemon the test started (by its pid), then wait until it has withdrawn."""
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + HANG_GUARD
    while discovery_files(env) or running(pid):
        assert time.monotonic() < deadline, f"the daemon {pid} did not exit"
        time.sleep(0.05)


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # not our child: whoever adopted it reaps it


def test_verbose_on_either_side_of_the_command(server_env: dict[str, str], shop: GitRepo) -> None:
    for args in (["-v", "plan", TASK], ["plan", TASK, "-v"]):
        proc = cli(server_env, *args, "--root", str(shop.root), "--no-server")
        assert proc.returncode == 0, proc.stderr
        assert b"rtk-lsp: DEBUG " in proc.stderr, args
    quiet = cli(server_env, "plan", TASK, "--root", str(shop.root), "--no-server")
    assert b"DEBUG" not in quiet.stderr
