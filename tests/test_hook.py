"""The Claude Code hook (`python -m rtk_lsp.hook`) and `rtk-lsp install-hook`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from gitrepo import make_billing_repo
from test_http import TASK, make_env, run_serve

from rtk_lsp.hook import END_MARKER, MARKER
from rtk_lsp.tokens import estimate_tokens

REPO = Path(__file__).resolve().parents[1]
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


def test_fail_open_without_a_server(tmp_path: Path) -> None:
    repo = make_billing_repo(tmp_path / "shop")
    env = make_env(tmp_path)
    for script in (False, True):
        started = time.monotonic()
        result = run_hook(env, payload(TASK, repo.root), script=script)
        assert result.returncode == 0 and result.stdout == "", result.stderr
        assert time.monotonic() - started < 5
    for junk in ("", "not json", "[]", json.dumps({"tool_name": "Task"})):
        result = run_hook(env, junk)
        assert result.returncode == 0 and result.stdout == ""
    result = run_hook(env, payload(TASK, repo.root), "--budget", "nonsense")
    assert result.returncode == 0 and result.stdout == ""


async def test_injects_once_within_the_budget(tmp_path: Path) -> None:
    repo = make_billing_repo(tmp_path / "shop")
    env = make_env(tmp_path)
    async with run_serve(tmp_path, repo.root, env=env) as door:
        await door.wait_ready()
        for tool, script in (("Task", False), ("Agent", True)):
            result = run_hook(
                env, payload(TASK, repo.root / "billing", tool), "--budget", "1500", script=script
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
        again = run_hook(env, payload(prompt, repo.root))
        assert again.returncode == 0 and again.stdout == ""
        # Other tools pass through.
        other = run_hook(env, {**payload(TASK, repo.root), "tool_name": "Bash"})
        assert other.returncode == 0 and other.stdout == ""
        # Outside every served root: nothing to say.
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        assert run_hook(env, payload(TASK, elsewhere)).stdout == ""


def test_install_and_uninstall(tmp_path: Path) -> None:
    settings = tmp_path / "claude" / "settings.json"
    settings.parent.mkdir()
    original = {
        "model": "opus",
        "hooks": {
            "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "audit.sh"}]}],
            "Stop": [{"hooks": [{"type": "command", "command": "notify.sh"}]}],
        },
    }
    settings.write_text(json.dumps(original, indent=4))
    os.chmod(settings, 0o640)
    env = make_env(tmp_path)

    def install(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "rtk_lsp", "install-hook", "--settings", str(settings), *args],
            env=env,
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

    removed = install("--uninstall")
    assert removed.returncode == 0, removed.stderr
    assert json.loads(settings.read_text()) == original
    assert install("--uninstall").stdout.strip().endswith("no rtk-lsp hook to remove")

    fresh = tmp_path / "new" / "settings.json"
    assert (
        subprocess.run(
            [sys.executable, "-m", "rtk_lsp", "install-hook", "--settings", str(fresh)], env=env, check=False
        ).returncode
        == 0
    )
    assert json.loads(fresh.read_text())["hooks"]["PreToolUse"][0]["matcher"] == "Task|Agent"

    settings.write_text("{ not json")
    broken = install()
    assert broken.returncode == 1 and settings.read_text() == "{ not json"
