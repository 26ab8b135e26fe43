"""The Claude Code hook (`python -m rtk_lsp.hook`) and `rtk-lsp install-hook`."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gitrepo import GitRepo
from servers import START_TIMEOUT, TASK, ServeFactory, call, cli, discovery_files, make_env

from rtk_lsp.hook import END_MARKER, MARKER
from rtk_lsp.tokens import estimate_tokens

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "hooks" / "claude-code" / "rtk-context.sh"


def payload(prompt: str, cwd: Path, tool: str = "Task") -> dict[str, Any]:
    return {
        "session_id": "s1",
        "hook_event_name": "PreToolUse",
        "cwd": str(cwd),
        "tool_name": tool,
        "tool_input": {
            "description": "Fix discount rounding",
            "prompt": prompt,
            "subagent_type": "general-purpose",
        },
    }


def run_hook(
    env: dict[str, str], data: Any, *args: str, script: bool = False
) -> subprocess.CompletedProcess[str]:
    command = ["sh", str(SCRIPT), *args] if script else [sys.executable, "-m", "rtk_lsp.hook", *args]
    stdin = data if isinstance(data, str) else json.dumps(data)
    return subprocess.run(
        command, input=stdin, env=env, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture(autouse=True)
def no_daemons_left(tmp_path: Path) -> Iterator[None]:
    """Servers the hook started for this test's directories end with it."""
    yield
    stop_spawned(tmp_path)


def spawned(tmp_path: Path) -> list[int]:
    """Live `rtk-lsp serve` processes started for a directory under `tmp_path`."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        ours = any(a.startswith(str(tmp_path).encode()) for a in args)
        if ours and b"serve" in args and b"--exclusive" in args and state != "Z":
            pids.append(int(entry.name))
    return pids


def stop_spawned(tmp_path: Path) -> None:
    for pid in spawned(tmp_path):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    wait_for(lambda: not spawned(tmp_path), "the started servers did not stop")


def wait_for(condition: Any, message: str) -> Any:
    deadline = time.monotonic() + START_TIMEOUT
    while not (value := condition()):
        assert time.monotonic() < deadline, message
        time.sleep(0.05)
    return value


def test_fail_open_without_a_server(shop: GitRepo, tmp_path: Path) -> None:
    env = {**make_env(tmp_path), "RTK_LSP_HOOK_DEBUG": "1"}
    for script in (False, True):
        result = run_hook(env, payload(TASK, shop.root), "--no-start", script=script)
        assert result.returncode == 0 and result.stdout == "", result.stderr
        assert "no server serves" in result.stderr
    for junk in ("", "not json", "[]", json.dumps({"tool_name": "Task"})):
        result = run_hook(env, junk)
        assert result.returncode == 0 and result.stdout == ""
        assert result.stderr.startswith("rtk-lsp hook: "), "RTK_LSP_HOOK_DEBUG says why"
    result = run_hook(env, payload(TASK, shop.root), "--budget", "nonsense")
    assert result.returncode == 0 and result.stdout == ""
    assert spawned(tmp_path) == [], "--no-start and bad input start nothing"
    quiet = run_hook(make_env(tmp_path), payload(TASK, shop.root), "--no-start")
    assert quiet.stdout == quiet.stderr == "", "silent without RTK_LSP_HOOK_DEBUG"


def injected(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    prompt: str = json.loads(result.stdout)["hookSpecificOutput"]["updatedInput"]["prompt"]
    assert prompt.startswith(MARKER)
    return prompt


def served(env: dict[str, str], root: Path) -> list[dict[str, Any]]:
    infos = [json.loads(p.read_text()) for p in discovery_files(env)]
    return [i for i in infos if i["roots"] == [str(root.resolve())]]


def test_hook_starts_a_server_and_answers_from_a_warm_store(shop: GitRepo, tmp_path: Path) -> None:
    env = {**make_env(tmp_path), "RTK_LSP_HOOK_DEBUG": "1"}
    assert cli(env, "index", "--root", str(shop.root)).returncode == 0  # a warm store, no server
    assert served(env, shop.root) == []

    # Called from a subdirectory: the server is started for the repository.
    first = run_hook(env, payload(TASK, shop.root / "billing"), "--time-limit", str(START_TIMEOUT))
    assert "billing/invoice.py" in injected(first)
    [info] = served(env, shop.root)
    assert info["kind"] == "serve" and spawned(tmp_path) == [info["pid"]]
    args = Path(f"/proc/{info['pid']}/cmdline").read_bytes().split(b"\0")
    assert b"--idle-timeout" in args and b"1800" in args

    second = run_hook(env, payload(TASK, shop.root))
    assert "billing/invoice.py" in injected(second)
    assert len(served(env, shop.root)) == 1 and spawned(tmp_path) == [info["pid"]], "no second server"


def test_hook_cold_start_injects_nothing_then_the_next_call_does(shop: GitRepo, tmp_path: Path) -> None:
    env = {**make_env(tmp_path), "RTK_LSP_HOOK_DEBUG": "1"}
    first = run_hook(env, payload(TASK, shop.root))
    assert first.returncode == 0 and first.stdout == ""
    assert "first index is not built yet" in first.stderr, first.stderr
    [info] = wait_for(lambda: served(env, shop.root), "the started server never announced itself")
    wait_for(
        lambda: (
            call(info["url"], "GET", "/v1/health", token=info["token"]).json()["roots"][0]["state"] == "ready"
        ),
        "the started server never finished its first index",
    )
    assert "billing/invoice.py" in injected(run_hook(env, payload(TASK, shop.root)))


def test_two_hooks_racing_start_one_server(shop: GitRepo, tmp_path: Path) -> None:
    env = {**make_env(tmp_path), "RTK_LSP_HOOK_DEBUG": "1"}
    call_file = tmp_path / "call.json"
    call_file.write_text(json.dumps(payload(TASK, shop.root)))
    racers = []
    for _ in range(2):
        with open(call_file) as stdin:  # both read their call at once: nothing paces them
            racers.append(
                subprocess.Popen(
                    [sys.executable, "-m", "rtk_lsp.hook"],
                    stdin=stdin,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    env=env,
                    text=True,
                )
            )
    for racer in racers:
        out, _err = racer.communicate(timeout=START_TIMEOUT)
        assert racer.returncode == 0 and out == ""
    [info] = wait_for(lambda: served(env, shop.root), "no server announced itself")
    # A second daemon, had one been started, exits at once on the lock: wait for that, then count.
    wait_for(lambda: spawned(tmp_path) == [info["pid"]], f"more than one server: {spawned(tmp_path)}")
    assert len(served(env, shop.root)) == 1


async def test_injects_once_within_the_budget(
    server_env: dict[str, str], serve: ServeFactory, shop: GitRepo, tmp_path: Path
) -> None:
    async with serve(shop.root, env=server_env) as door:
        await door.wait_ready()
        for tool, script in (("Task", False), ("Agent", True)):
            result = run_hook(
                server_env, payload(TASK, shop.root / "billing", tool), "--budget", "1500", script=script
            )
            assert result.returncode == 0, result.stderr
            out = json.loads(result.stdout)["hookSpecificOutput"]
            assert out["hookEventName"] == "PreToolUse" and out["permissionDecision"] == "allow"
            updated = out["updatedInput"]
            assert updated["subagent_type"] == "general-purpose" and updated["description"]
            prompt = updated["prompt"]
            assert prompt.startswith(MARKER) and prompt.endswith(TASK)
            injected = prompt[: prompt.index(END_MARKER) + len(END_MARKER)]
            assert "billing/invoice.py" in injected
            assert estimate_tokens(injected) <= 1500, "the planned budget is the injected budget"

        # The rewritten prompt comes back (a nested or retried task): no second injection.
        again = run_hook(server_env, payload(prompt, shop.root))
        assert again.returncode == 0 and again.stdout == ""
        # Other tools pass through.
        other = run_hook(server_env, {**payload(TASK, shop.root), "tool_name": "Bash"})
        assert other.returncode == 0 and other.stdout == ""
        # Outside every served root: nothing to say.
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        assert run_hook(server_env, payload(TASK, elsewhere)).stdout == ""


def test_install_and_uninstall(server_env: dict[str, str], tmp_path: Path) -> None:
    settings = tmp_path / "claude" / "settings.json"
    settings.parent.mkdir()
    original = {
        "model": "opus",
        "hooks": {
            "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "audit.sh"}]}],
            "PostToolUse": [{"matcher": "Edit", "hooks": [{"type": "command", "command": "format.sh"}]}],
            "Stop": [{"hooks": [{"type": "command", "command": "notify.sh"}]}],
        },
    }
    settings.write_text(json.dumps(original, indent=4))
    os.chmod(settings, 0o640)

    def install(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "rtk_lsp", "install-hook", "--settings", str(settings), *args],
            env=server_env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def backups() -> list[Path]:
        return sorted(settings.parent.glob("settings.json.rtk-backup-*"))

    first = install("--budget", "3000")
    assert first.returncode == 0, first.stderr
    [backup] = backups()
    assert json.loads(backup.read_text()) == original
    data = json.loads(settings.read_text())
    assert data["model"] == "opus" and data["hooks"]["Stop"] == original["hooks"]["Stop"]
    groups = data["hooks"]["PreToolUse"]
    assert groups[0] == original["hooks"]["PreToolUse"][0]
    assert groups[1]["matcher"] == "Task|Agent"
    [hook] = groups[1]["hooks"]
    assert "-m rtk_lsp.hook --budget 3000" in hook["command"] and hook["timeout"] == 10
    # The same command after the read, edit and write tools: what the agent touched after a plan.
    post = data["hooks"]["PostToolUse"]
    assert post[0] == original["hooks"]["PostToolUse"][0]
    assert post[1] == {"matcher": "Read|Edit|MultiEdit|Write|NotebookEdit", "hooks": [hook]}
    assert oct(settings.stat().st_mode & 0o777) == oct(0o640)

    second = install("--budget", "3000")
    assert second.returncode == 0 and "already installed" in second.stdout
    assert len(backups()) == 1 and json.loads(settings.read_text()) == data

    changed = install("--budget", "2000")  # a new budget replaces the entry, it does not add one
    assert changed.returncode == 0
    hooks = json.loads(settings.read_text())["hooks"]["PreToolUse"]
    assert [h["command"] for g in hooks for h in g["hooks"]].count(
        hook["command"].replace("3000", "2000")
    ) == 1
    assert len(hooks) == 2
    assert len(json.loads(settings.read_text())["hooks"]["PostToolUse"]) == 2

    plain = install("--no-outcomes")  # the plan only: nothing after the read, edit and write tools
    assert plain.returncode == 0, plain.stderr
    assert json.loads(settings.read_text())["hooks"]["PostToolUse"] == original["hooks"]["PostToolUse"]
    assert install("--no-outcomes").stdout.strip().endswith("hook already installed")

    removed = install("--uninstall")
    assert removed.returncode == 0, removed.stderr
    assert json.loads(settings.read_text()) == original
    assert install("--uninstall").stdout.strip().endswith("no rtk-lsp hook to remove")

    fresh = tmp_path / "new" / "settings.json"
    assert (
        subprocess.run(
            [sys.executable, "-m", "rtk_lsp", "install-hook", "--settings", str(fresh)],
            env=server_env,
            check=False,
        ).returncode
        == 0
    )
    assert json.loads(fresh.read_text())["hooks"]["PreToolUse"][0]["matcher"] == "Task|Agent"

    settings.write_text("{ not json")
    broken = install()
    assert broken.returncode == 1 and settings.read_text() == "{ not json"
