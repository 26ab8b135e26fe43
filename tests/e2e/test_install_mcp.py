"""`rtk-lsp install-mcp` for every client: the documented file written, idempotent, backed up,
and `--uninstall` removing only its own entry. The written command is then started as the
client would start it, and answers MCP."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from servers import START_TIMEOUT, make_env

from rtk_lsp.install_mcp import CLIENT

# client -> (project file, user file under HOME, key of the servers, extra fields of an entry)
EXPECTED: dict[str, tuple[str, str, str, dict[str, Any]]] = {
    "claude-code": (".mcp.json", ".claude.json", "mcpServers", {"type": "stdio"}),
    "cursor": (".cursor/mcp.json", ".cursor/mcp.json", "mcpServers", {}),
    "vscode": (".vscode/mcp.json", ".config/Code/User/mcp.json", "servers", {"type": "stdio"}),
    "codex": (".codex/config.toml", ".codex/config.toml", "mcp_servers", {}),
    "gemini": (".gemini/settings.json", ".gemini/settings.json", "mcpServers", {}),
}
OTHER = {"command": "npx", "args": ["-y", "some-other-server"]}


def test_every_client_is_covered() -> None:
    assert set(CLIENT) == set(EXPECTED)


def install(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rtk_lsp", "install-mcp", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def read(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = (
        tomllib.loads(path.read_text()) if path.suffix == ".toml" else json.loads(path.read_text())
    )
    return data


def original_text(client: str, key: str) -> str:
    """A config that already holds the user's own settings and another server."""
    if client == "codex":
        return f'# my settings\nmodel = "o4"\n\n[{key}.other]\ncommand = "npx"\nargs = ["-y", "some-other-server"]\n\n[profiles.fast]\nmodel = "mini"\n'
    return json.dumps({"theme": "dark", key: {"other": OTHER}}, indent=4) + "\n"


def backups(path: Path) -> list[Path]:
    return sorted(path.parent.glob(path.name + ".rtk-backup-*"))


@pytest.mark.parametrize("client", sorted(EXPECTED))
@pytest.mark.parametrize("scope", ["project", "user"])
def test_install_mcp(client: str, scope: str, tmp_path: Path) -> None:
    project_file, user_file, key, extra = EXPECTED[client]
    home = tmp_path / "home"
    project = tmp_path / "project"
    project.mkdir()
    env = {**make_env(tmp_path), "HOME": str(home)}
    env.pop("XDG_CONFIG_HOME", None)
    env.pop("CODEX_HOME", None)
    path = project / project_file if scope == "project" else home / user_file
    args = ("--client", client, "--scope", scope, "--root", str(project))
    entry = {**extra, "command": sys.executable, "args": ["-m", "rtk_lsp", "mcp"]}
    if scope == "project":
        entry["args"] += ["--root", str(project.resolve())]

    # A fresh file: written, then removed whole on uninstall (nothing else was in it).
    first = install(env, *args)
    assert first.returncode == 0, first.stderr
    assert read(path) == {key: {"rtk-lsp": entry}}
    assert install(env, *args, "--uninstall").returncode == 0
    assert not path.exists() and backups(path)
    for b in backups(path):
        b.unlink()

    # Beside the user's settings and another server.
    path.parent.mkdir(parents=True, exist_ok=True)
    text = original_text(client, key)
    path.write_text(text)
    path.chmod(0o640)
    before = read(path)
    first = install(env, *args)
    assert first.returncode == 0, first.stderr
    [backup] = backups(path)
    assert backup.read_text() == text
    after = read(path)
    assert after[key] == {"other": before[key]["other"], "rtk-lsp": entry}
    assert {k: v for k, v in after.items() if k != key} == {k: v for k, v in before.items() if k != key}
    assert path.stat().st_mode & 0o777 == 0o640

    again = install(env, *args)
    assert again.returncode == 0 and "already configured" in again.stdout
    assert backups(path) == [backup] and read(path) == after

    removed = install(env, *args, "--uninstall")
    assert removed.returncode == 0, removed.stderr
    assert read(path) == before
    if client == "codex":
        assert path.read_text().startswith("# my settings"), "comments and layout kept"
    nothing = install(env, *args, "--uninstall")
    assert nothing.returncode == 0 and "no rtk-lsp server to remove" in nothing.stdout


def test_unreadable_configs_are_left_alone(tmp_path: Path) -> None:
    env = {**make_env(tmp_path), "HOME": str(tmp_path / "home")}
    for client, text, message in (
        ("vscode", '{\n  // my servers\n  "servers": {}\n}\n', "comments are not supported"),
        ("codex", 'mcp_servers = { rtk-lsp = { command = "old" } }\n', "edit it by hand"),
    ):
        path = tmp_path / EXPECTED[client][0]
        path.parent.mkdir()
        path.write_text(text)
        result = install(env, "--client", client, "--root", str(tmp_path))
        assert result.returncode == 1 and message in result.stderr, result.stderr
        assert path.read_text() == text and not backups(path)

    assert install(env, "--client", "nope").returncode == 2


async def test_the_written_command_serves_mcp(tmp_path: Path) -> None:
    """Started exactly as Claude Code would start it from .mcp.json, it answers MCP."""
    project = tmp_path / "project"
    (project / "pkg").mkdir(parents=True)
    (project / "pkg" / "app.py").write_text("def serve_requests():\n    return 1\n")
    env = {**make_env(tmp_path), "HOME": str(tmp_path / "home")}
    assert install(env, "--client", "claude-code", "--root", str(project)).returncode == 0
    entry = json.loads((project / ".mcp.json").read_text())["mcpServers"]["rtk-lsp"]
    params = StdioServerParameters(command=entry["command"], args=entry["args"], env=env, cwd=tmp_path)
    with open(tmp_path / "server.err", "w") as errlog:
        async with stdio_client(params, errlog=errlog) as (r, w), ClientSession(r, w) as session:
            await asyncio.wait_for(session.initialize(), START_TIMEOUT)
            found = await asyncio.wait_for(
                session.call_tool("find_symbol", {"name": "serve_requests"}), START_TIMEOUT
            )
            assert not found.is_error
            assert found.structured_content["definitions"][0]["path"] == "pkg/app.py"  # type: ignore[index]
