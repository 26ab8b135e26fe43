"""Is it helping? Scripted agent sessions through the real doors, then `rtk-lsp gain`.

A sub-agent call through the Claude Code hook (PreToolUse with a task, then PostToolUse
reads and edits) against `rtk-lsp serve`, and an agent through `rtk-lsp mcp` with the
official SDK client (plan_context, expand, report_outcome), both on one repository; then
`rtk-lsp gain --format json` must give exactly the figures the script implies. The same run
produces the README's "Is it helping?" example (RTK_UPDATE_GOLDEN=1 rewrites it).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from gitrepo import GitRepo
from servers import TASK, ServeFactory, cli
from test_hook import injected, payload, run_hook, stop_spawned
from test_mcp import call_tool, stdio_session, text

from rtk_lsp.tokens import estimate_tokens

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
README_ROOT = "/home/me/src/shop"  # the example's root, in place of the test's temporary one
MCP_TASK = "add a tax region for Norway to tax_for"


def post(session: str, cwd: Path, tool: str, path: str) -> dict[str, Any]:
    """A PostToolUse call as Claude Code sends it after a Read, Edit or Write."""
    key = "notebook_path" if tool == "NotebookEdit" else "file_path"
    return {
        "session_id": session,
        "hook_event_name": "PostToolUse",
        "cwd": str(cwd),
        "tool_name": tool,
        "tool_input": {key: path},
        "tool_response": {"success": True},
    }


def gain_json(env: dict[str, str], root: Path, *args: str) -> dict[str, Any]:
    result = cli(env, "gain", "--root", str(root), "--format", "json", *args)
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def episodes_json(env: dict[str, str], root: Path) -> list[dict[str, Any]]:
    result = cli(env, "episodes", "--root", str(root), "--format", "json")
    assert result.returncode == 0, result.stderr
    listed: list[dict[str, Any]] = json.loads(result.stdout)["episodes"]
    return listed


def whole_tokens(root: Path, paths: list[str]) -> int:
    return sum(estimate_tokens((root / p).read_text()) for p in paths)


@pytest.fixture(autouse=True)
def no_daemons_left(tmp_path: Path) -> Any:
    yield
    stop_spawned(tmp_path)


async def hook_session(env: dict[str, str], root: Path, session: str) -> dict[str, Any]:
    """A sub-agent gets a plan through the hook, then reads and edits; returns the plan served."""
    prompt = injected(run_hook(env, {**payload(TASK, root / "billing"), "session_id": session}))
    assert "billing/invoice.py" in prompt
    for tool, path in [
        ("Read", root / "billing/invoice.py"),
        ("Read", root / "users/profile.py"),
        ("Edit", root / "billing/invoice.py"),
        ("Write", root / "billing/rounding.py"),  # a new file: edited, and the plan could not know it
        ("Read", Path("/etc/hostname")),  # outside the root: ignored
    ]:
        result = run_hook(env, post(session, root, tool, str(path)))
        assert result.returncode == 0 and result.stdout == "", result.stderr
    # A relative path, from the sub-agent's working directory.
    assert run_hook(env, post(session, root / "billing", "Read", "invoice.py")).returncode == 0
    # Another session never asked for a plan: nothing of it is recorded.
    assert run_hook(env, post("someone-else", root, "Edit", str(root / "billing/tax.py"))).returncode == 0
    # Other tools are not outcomes.
    bash = {**post(session, root, "Bash", ""), "tool_input": {"command": "cat billing/tax.py"}}
    assert run_hook(env, bash).returncode == 0
    [episode] = [e for e in episodes_json(env, root) if e["session"] == session]
    return episode


async def mcp_session(env: dict[str, str], root: Path, tmp_path: Path) -> dict[str, Any]:
    """An agent plans through MCP, opens a symbol, and reports what it edited and read."""
    async with stdio_session(tmp_path, env, "--root", str(root)) as session:
        plan = await call_tool(session, "plan_context", {"task": MCP_TASK, "budget": 2000})
        assert not plan.is_error, text(plan)
        opened = await call_tool(session, "expand", {"path": "billing/tax.py", "symbols": ["tax_for"]})
        assert not opened.is_error, text(opened)
        reported = await call_tool(
            session,
            "report_outcome",
            {
                "paths_edited": ["billing/tax.py", str(root / "users/profile.py"), "/etc/hostname"],
                "paths_read": ["billing/invoice.py", "../../elsewhere.py"],
            },
        )
        assert not reported.is_error, text(reported)
        assert reported.structured_content == {
            "root": str(root),
            "recorded": 3,
            "attached": True,
            "outside": ["/etc/hostname", "../../elsewhere.py"],
            "note": "",
        }
        again = await call_tool(session, "report_outcome", {"paths_read": ["billing/invoice.py"]})
        assert again.structured_content["recorded"] == 0, "a path counts once"  # type: ignore[index]
        empty = await call_tool(session, "report_outcome", {})
        assert empty.is_error and "paths_edited or paths_read" in text(empty)
        planned: dict[str, Any] = plan.structured_content  # type: ignore[assignment]
    return planned


async def test_scripted_sessions_give_exact_figures_and_the_readme_example(
    server_env: dict[str, str], serve: ServeFactory, shop: GitRepo, tmp_path: Path
) -> None:
    root = shop.root.resolve()
    async with serve(shop.root, env=server_env) as door:
        await door.wait_ready()
        hooked = await hook_session(server_env, root, "8c35adc1-hook-session")
    mcp_plan = await mcp_session(server_env, root, tmp_path)

    # What the hook's sub-agent did, as recorded.
    hook_selected = [s["path"] for s in hooked["selected"]]
    assert hook_selected == ["billing/invoice.py", "billing/tax.py"]
    assert hooked["door"] == "http" and hooked["task_line"] == "Fix discount rounding"
    assert hooked["task"] is None, "the task text is not kept by default"
    assert hooked["read"] == ["billing/invoice.py", "users/profile.py"]
    assert hooked["edited"] == ["billing/invoice.py", "billing/rounding.py"]
    # What the MCP agent did: expand counted as a read.
    [mcp] = [e for e in episodes_json(server_env, root) if e["door"] == "mcp"]
    mcp_selected = [f["rel_path"] for f in mcp_plan["selected"]]
    assert [s["path"] for s in mcp["selected"]] == mcp_selected
    assert mcp["tokens"] == mcp_plan["budget_report"]["estimated_used"]
    assert mcp["read"] == ["billing/invoice.py", "billing/tax.py"]
    assert mcp["edited"] == ["billing/tax.py", "users/profile.py"]
    assert "billing/tax.py" in mcp_selected and "users/profile.py" not in mcp_selected

    # The figures, from first principles: edited files the plan had selected, over edited files;
    # selected files then read or edited, over selected files.
    hook_touched = {"billing/invoice.py", "users/profile.py", "billing/rounding.py"}
    mcp_touched = {"billing/tax.py", "users/profile.py", "billing/invoice.py"}
    expected = {
        "root": str(root),
        "since_days": 30.0,
        "plans": 2,
        "episodes_with_outcomes": 2,
        "tokens_injected": hooked["tokens"] + mcp_plan["budget_report"]["estimated_used"],
        "tokens_whole_files": whole_tokens(root, hook_selected) + whole_tokens(root, mcp_selected),
        # hook: invoice of {invoice, rounding}; mcp: tax of {tax, profile}
        "field_recall": 0.5,
        "field_precision": round(
            (len(set(hook_selected) & hook_touched) + len(set(mcp_selected) & mcp_touched))
            / (len(hook_selected) + len(mcp_selected)),
            4,
        ),
        "files_selected": len(hook_selected) + len(mcp_selected),
        "edited_files": 4,
        "edited_selected": 2,
        "selected_observed": len(hook_selected) + len(mcp_selected),
        "selected_touched": len(set(hook_selected) & hook_touched) + len(set(mcp_selected) & mcp_touched),
        "read_files": 4,
    }
    assert gain_json(server_env, root) == expected
    # From a subdirectory, the project's log answers.
    assert gain_json(server_env, root / "billing")["plans"] == 2
    # Only the last day: the same; plans older than --since would be left out.
    assert gain_json(server_env, root, "--since", "1")["plans"] == 2

    readme_example(server_env, root)


def readme_example(env: dict[str, str], root: Path) -> None:
    """README "Is it helping?" shows `rtk-lsp gain` after the session above, as the CLI prints it."""
    result = cli(env, "gain", "--root", str(root))
    assert result.returncode == 0, result.stderr
    block = f"$ rtk-lsp gain\n{result.stdout.decode()}".replace(str(root), README_ROOT)
    marker = (
        "<!-- output of rtk-lsp gain after the scripted session of tests/e2e/test_gain.py, checked by it -->"
    )
    pattern = re.compile(re.escape(marker) + r"\n```text\n(.*?)```\n", re.S)
    readme = README.read_text()
    match = pattern.search(readme)
    assert match, f"README.md needs a text block after {marker}"
    if os.environ.get("RTK_UPDATE_GOLDEN"):
        README.write_text(readme[: match.start(1)] + block + readme[match.end(1) :])
        return
    assert match.group(1) == block, "README's gain example drifted; RTK_UPDATE_GOLDEN=1 rewrites it"


async def test_recording_off_records_nothing(
    server_env: dict[str, str], serve: ServeFactory, shop: GitRepo, tmp_path: Path
) -> None:
    root = shop.root.resolve()
    off = {**server_env, "RTK_LSP_EPISODES": "off"}
    async with serve(shop.root, env=off) as door:
        await door.wait_ready()
        assert "billing/invoice.py" in injected(run_hook(off, {**payload(TASK, root), "session_id": "s"}))
        assert (await door.plan()).status == 200
        run_hook(server_env, post("s", root, "Edit", str(root / "billing/invoice.py")))
    async with stdio_session(tmp_path, off, "--root", str(root)) as session:
        assert not (await call_tool(session, "plan_context", {"task": TASK})).is_error
        report = await call_tool(session, "report_outcome", {"paths_edited": ["billing/tax.py"]})
        assert report.structured_content["attached"] is False  # type: ignore[index]
        assert "recording is off" in text(report)
    assert cli(off, "plan", TASK, "--root", str(root), "--no-server").returncode == 0
    assert episodes_json(server_env, root) == []
    assert gain_json(server_env, root)["plans"] == 0
    none = cli(server_env, "gain", "--root", str(root))
    assert b"no plans recorded" in none.stdout and b"recall" not in none.stdout, "no figure without events"

    # Recording on again: the CLI's own plan is an episode; the hook with recording off adds nothing to it.
    assert cli(server_env, "plan", TASK, "--root", str(root), "--no-server").returncode == 0
    [cli_episode] = episodes_json(server_env, root)
    assert cli_episode["door"] == "cli" and cli_episode["session"] is None
    keep = {**server_env, "RTK_LSP_EPISODES": "keep-tasks"}
    assert cli(keep, "plan", TASK, "--root", str(root), "--no-server").returncode == 0
    assert episodes_json(server_env, root)[0]["task"] == TASK


def test_clear_deletes_the_log(shop: GitRepo, server_env: dict[str, str]) -> None:
    root = shop.root.resolve()
    assert cli(server_env, "plan", TASK, "--root", str(root), "--no-server").returncode == 0
    assert len(episodes_json(server_env, root)) == 1
    cleared = cli(server_env, "episodes", "--root", str(root), "--clear")
    assert cleared.returncode == 0 and b"deleted 1 episode" in cleared.stdout
    assert episodes_json(server_env, root) == []
    listed = cli(server_env, "episodes", "--root", str(root))
    assert b"no episodes recorded" in listed.stdout
    bad = cli(server_env, "gain", "--root", str(root / "nope"))
    assert bad.returncode == 2 and b"not a directory" in bad.stderr
    assert cli(server_env, "gain", "--since", "0", "--root", str(root)).returncode == 2


CONCURRENT = 6


def hooks_at_once(env: dict[str, str], calls: list[dict[str, Any]]) -> list[bytes]:
    """One hook process per call, all started and fed before any is waited for."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "rtk_lsp.hook"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        for _ in calls
    ]
    for proc, call in zip(procs, calls, strict=True):
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(call).encode())
        proc.stdin.close()
    outputs = []
    for proc in procs:
        assert proc.stdout is not None
        with proc.stdout:
            outputs.append(proc.stdout.read())
        proc.wait(timeout=120)
        assert proc.returncode == 0
    return outputs


async def test_concurrent_writers(server_env: dict[str, str], serve: ServeFactory, shop: GitRepo) -> None:
    """Sub-agents of several sessions at once: their plans (through the server) and their reads
    and edits (each a hook process of its own) all land, and the figures add up."""
    root = shop.root.resolve()
    async with serve(shop.root, env=server_env) as door:
        await door.wait_ready()
        planned = hooks_at_once(
            server_env, [{**payload(TASK, root), "session_id": f"s{i}"} for i in range(CONCURRENT)]
        )
        assert all(b"updatedInput" in out for out in planned)
        hooks_at_once(
            server_env,
            [
                post(f"s{i}", root, tool, str(root / path))
                for i in range(CONCURRENT)
                for tool, path in (
                    ("Read", "billing/tax.py"),
                    ("Edit", "billing/invoice.py"),
                    ("Edit", f"n{i}.py"),
                )
            ],
        )
    figures = gain_json(server_env, root)
    assert figures["plans"] == figures["episodes_with_outcomes"] == CONCURRENT
    assert (figures["edited_files"], figures["edited_selected"]) == (2 * CONCURRENT, CONCURRENT)
    assert figures["field_recall"] == 0.5 and figures["field_precision"] == 1.0
