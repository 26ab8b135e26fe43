"""Issue-style tasks through the doors agents use: the CLI and HTTP, each part of a task on its own."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from gitrepo import make_tracker_repo
from servers import ServeFactory
from test_hook import payload, run_hook

from rtk_lsp.plan.confidence import FLOOR

# One task per part, with the file it must put first and a reason that must say why.
PARTS = {
    "traceback naming a workspace file": (
        "Fit crashes\n\nTraceback (most recent call last):\n"
        '  File "/home/me/src/tracker/tracker/stats/regression.py", line 13, in _fit_predict\n'
        '    raise ValueError("order too high for the data")\nValueError: order too high for the data\n',
        "tracker/stats/regression.py",
        "in the traceback: `tracker/stats/regression.py` line 13 in `PolyFit._fit_predict`",
    ),
    "installed-package path mapped to the workspace": (
        "Loading fails\n\nTraceback (most recent call last):\n"
        '  File "/usr/lib/python3/site-packages/tracker/io/loader.py", line 8, in load_table\n'
        "    raise ValueError(msg)\nValueError: bad\n",
        "tracker/io/loader.py",
        "in the traceback: `tracker/io/loader.py` line 8 in `load_table`",
    ),
    "snippet call resolved to its definition": (
        "Fitting goes wrong\n\n```python\nimport tracker as tk\nfit = tk.PolyFit(order=5)\n```\n",
        "tracker/stats/regression.py",
        "defines `PolyFit`, constructed in the task's code",
    ),
    "quoted message found in a string literal": (
        "Loading stops with \"Unrecognized table line: 'x' in data.txt\"",
        "tracker/io/loader.py",
        "its string “Unrecognized table line: {line!r} in {path}” is in the task's message",
    ),
}
OFF_TOPIC = "Add a loyalty-points page to the mobile app"


def cli_plan(env: dict[str, str], root: Path, task: str, *args: str) -> dict[str, Any]:
    """`rtk-lsp plan` in its own process; `-` sends the task on stdin."""
    argv = [sys.executable, "-m", "rtk_lsp", "plan", "-", "--root", str(root), "--format", "json", *args]
    done = subprocess.run(argv, input=task.encode(), env=env, capture_output=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def first_with_reason(result: dict[str, Any], path: str, reason: str) -> None:
    assert result["selected"], result["verdict"]
    first = result["selected"][0]
    assert first["rel_path"] == path, [s["rel_path"] for s in result["selected"][:5]]
    assert reason in first["reasons"], first["reasons"]
    assert result["confidence"] > FLOOR and result["verdict"].startswith("matched: ")


def a_megabyte_issue() -> str:
    log = "".join(f"worker {i % 7}: retrying the upload of chunk {i}\n" for i in range(24_000))
    task = "Upload loop never ends\n\n```\n" + log + "```\n\n" + PARTS["traceback naming a workspace file"][0]
    assert len(task.encode()) >= 1_000_000
    return task


async def test_each_part_of_a_task_through_the_cli_and_http(
    server_env: dict[str, str], serve: ServeFactory, tmp_path: Path
) -> None:
    repo = make_tracker_repo(tmp_path / "tracker")
    env = server_env
    async with serve(repo.root, env=env) as door:
        await door.wait_ready()
        for name, (task, path, reason) in PARTS.items():
            local = await asyncio.to_thread(cli_plan, env, repo.root, task, "--no-server")
            first_with_reason(local, path, reason)
            reply = await door.plan(task)
            assert reply.status == 200, (name, reply.body)
            first_with_reason(reply.json(), path, reason)

        big = a_megabyte_issue()
        local = await asyncio.to_thread(cli_plan, env, repo.root, big, "--no-server")
        path, reason = PARTS["traceback naming a workspace file"][1:]
        first_with_reason(local, path, reason)
        assert local["reading"]["condensed"] and local["reading"]["chars"] == len(big.strip())
        reply = await door.plan(big)
        assert reply.status == 200, reply.body[:300]
        first_with_reason(reply.json(), path, reason)

        for result in (
            await asyncio.to_thread(cli_plan, env, repo.root, OFF_TOPIC, "--no-server"),
            (await door.plan(OFF_TOPIC)).json(),
        ):
            assert result["selected"] == [] and result["confidence"] < FLOOR
            assert result["verdict"].startswith("nothing in this workspace matches the task")
            assert result["verdict"] in result["context"]


async def test_the_hook_injects_nothing_for_an_off_topic_task(
    server_env: dict[str, str], serve: ServeFactory, tmp_path: Path
) -> None:
    repo = make_tracker_repo(tmp_path / "tracker")
    env = server_env
    async with serve(repo.root, env=env) as door:
        await door.wait_ready()
        data = payload(OFF_TOPIC, repo.root)
        data["tool_input"]["description"] = "Loyalty page"
        result = run_hook(env, data)
        assert result.returncode == 0 and result.stdout == "", result.stderr
        # the same hook and server do inject for a task about this workspace
        data = payload(PARTS["snippet call resolved to its definition"][0], repo.root)
        data["tool_input"]["description"] = "Fix the fit"
        result = run_hook(env, data)
        assert result.returncode == 0 and "tracker/stats/regression.py" in result.stdout, result.stderr
