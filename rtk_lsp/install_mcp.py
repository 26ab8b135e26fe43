"""`rtk-lsp install-mcp`: add (or remove) rtk-lsp's MCP server in a coding agent's configuration.

Each client's file and format, as its documentation gives them (checked 2026-12):

| client | project scope | user scope | servers under |
|---|---|---|---|
| claude-code | `.mcp.json` | `~/.claude.json` | `mcpServers` |
| cursor | `.cursor/mcp.json` | `~/.cursor/mcp.json` | `mcpServers` |
| vscode | `.vscode/mcp.json` | the user profile's `mcp.json` | `servers` (with `"type": "stdio"`) |
| codex | `.codex/config.toml` (trusted projects) | `$CODEX_HOME/config.toml` (`~/.codex`) | `[mcp_servers.<name>]` |
| gemini | `.gemini/settings.json` | `~/.gemini/settings.json` | `mcpServers` |

The entry runs this Python with `-m rtk_lsp mcp` (GUI editors often start with a PATH that
lacks a virtualenv's `rtk-lsp`); project scope pins `--root` to the project. Installing
twice changes nothing, a changed entry is replaced, every write backs the file up first,
and `--uninstall` removes only the entry named `rtk-lsp` (the file too, if nothing else
was in it).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rtk_lsp.configfile import json_text, parse_json_object, read_text, replace_file

NAME = "rtk-lsp"


@dataclass(frozen=True)
class Client:
    project_file: str  # relative to the project root
    user_file: Callable[[], str]
    key: str  # the object (JSON) or table (TOML) holding the servers
    stdio_type: bool  # the entry says "type": "stdio"
    check: str  # how to see the server in the client

    @property
    def toml(self) -> bool:
        return self.project_file.endswith(".toml")


def _home(*parts: str) -> Callable[[], str]:
    return lambda: os.path.join(os.path.expanduser("~"), *parts)


def _vscode_user() -> str:
    if sys.platform == "darwin":
        base = os.path.expanduser("~/Library/Application Support")
    elif sys.platform == "win32":
        base = os.environ.get("APPDATA", os.path.expanduser("~"))
    else:
        base = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
    return os.path.join(base, "Code", "User", "mcp.json")


def _codex_user() -> str:
    return os.path.join(os.environ.get("CODEX_HOME") or os.path.expanduser("~/.codex"), "config.toml")


CLIENT: dict[str, Client] = {
    "claude-code": Client(".mcp.json", _home(".claude.json"), "mcpServers", True, "claude mcp list"),
    "cursor": Client(
        ".cursor/mcp.json", _home(".cursor", "mcp.json"), "mcpServers", False, "Cursor Settings > MCP"
    ),
    "vscode": Client(".vscode/mcp.json", _vscode_user, "servers", True, "the command MCP: List Servers"),
    "codex": Client(".codex/config.toml", _codex_user, "mcp_servers", False, "codex mcp list"),
    "gemini": Client(
        ".gemini/settings.json", _home(".gemini", "settings.json"), "mcpServers", False, "gemini mcp list"
    ),
}


def server_entry(client: Client, root: str | None, python: str | None = None) -> dict[str, Any]:
    args = ["-m", "rtk_lsp", "mcp"] + (["--root", root] if root else [])
    entry: dict[str, Any] = {"type": "stdio"} if client.stdio_type else {}
    entry.update(command=python or sys.executable, args=args)
    return entry


def config_path(client: Client, scope: str, root: str) -> str:
    return os.path.join(root, client.project_file) if scope == "project" else client.user_file()


# ---- JSON clients ----------------------------------------------------------------------------------


def _json_change(client: Client, text: str | None, entry: dict[str, Any] | None) -> str | None:
    """The new text of a JSON config (None: remove the file); the same text when nothing changes."""
    data = parse_json_object(text or "")
    servers = data.get(client.key)
    if servers is not None and not isinstance(servers, dict):
        raise ValueError(f'"{client.key}" is not an object')
    current = (servers or {}).get(NAME)
    if entry is None:
        if current is None:
            return text
        del data[client.key][NAME]
        if not data[client.key]:
            del data[client.key]
        return json_text(data) if data else None
    if current == entry:
        return text
    data.setdefault(client.key, {})[NAME] = entry
    return json_text(data)


# ---- TOML (Codex) ---------------------------------------------------------------------------------


def _toml_string(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string


def _toml_block(client: Client, entry: dict[str, Any]) -> str:
    args = ", ".join(_toml_string(a) for a in entry["args"])
    return f"[{client.key}.{NAME}]\ncommand = {_toml_string(entry['command'])}\nargs = [{args}]\n"


def _without_block(client: Client, text: str) -> str:
    """`text` without our table and its sub-tables ([mcp_servers.rtk-lsp], [mcp_servers.rtk-lsp.env])."""
    ours = re.compile(
        rf'^\s*\[\s*{re.escape(client.key)}\s*\.\s*("?){re.escape(NAME)}\1\s*(\.[^\]]*)?\]\s*(#.*)?$'
    )
    header = re.compile(r"^\s*\[")
    out: list[str] = []
    skipping = False
    for line in text.splitlines(keepends=True):
        if header.match(line):
            skipping = bool(ours.match(line))
        if not skipping:
            out.append(line)
    return "".join(out).rstrip("\n") + "\n" if "".join(out).strip() else ""


def _toml_change(client: Client, text: str | None, entry: dict[str, Any] | None) -> str | None:
    before = tomllib.loads(text or "")
    servers = before.get(client.key, {})
    if not isinstance(servers, dict):
        raise ValueError(f"{client.key} is not a table")
    current = servers.get(NAME)
    if (entry is None and current is None) or (entry is not None and current == entry):
        return text
    rest = _without_block(client, text or "")
    new = rest if entry is None else (rest + ("\n" if rest else "") + _toml_block(client, entry))
    # Check the edit did exactly what it should: our entry in or out, everything else as it was.
    expected: dict[str, Any] = json.loads(json.dumps(before))
    expected.setdefault(client.key, {}).pop(NAME, None)
    if entry is not None:
        expected[client.key][NAME] = entry
    try:
        done = _without_empty(tomllib.loads(new), client.key) == _without_empty(expected, client.key)
    except tomllib.TOMLDecodeError:
        done = False
    if not done:
        raise ValueError(
            f"its [{client.key}.{NAME}] entry is written in a form this tool cannot edit: edit it by hand"
        )
    return new if new.strip() else None


def _without_empty(data: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if not (k == key and v == {})}


# ---- the command ----------------------------------------------------------------------------------


def update(client_name: str, path: str, entry: dict[str, Any] | None) -> tuple[bool, str | None]:
    """Write (entry) or remove (None) our server in one config file; (changed, backup path)."""
    client = CLIENT[client_name]
    text = read_text(path)
    change = _toml_change if client.toml else _json_change
    new = change(client, text, entry)
    if new == text:
        return False, None
    if new is None and text is None:
        return False, None
    return True, replace_file(path, new)


def cmd_install_mcp(args: argparse.Namespace) -> int:
    client = CLIENT[args.client]
    root = os.path.realpath(args.root)
    if args.scope == "project" and not os.path.isdir(root):
        print(f"rtk-lsp: error: not a directory: {args.root}", file=sys.stderr)
        return 2
    path = os.path.expanduser(args.config) if args.config else config_path(client, args.scope, root)
    entry = None if args.uninstall else server_entry(client, root if args.scope == "project" else None)
    try:
        changed, saved = update(args.client, path, entry)
    except (ValueError, OSError, tomllib.TOMLDecodeError) as exc:
        print(f"rtk-lsp: error: {path}: {exc}", file=sys.stderr)
        return 1
    if not changed:
        print(
            f"{path}: {'no rtk-lsp server to remove' if args.uninstall else 'rtk-lsp is already configured'}"
        )
        return 0
    if saved:
        print(f"backed up {path} to {saved}")
    if args.uninstall:
        print(f"removed the {NAME} MCP server from {path}")
    else:
        assert entry is not None
        print(f"added the {NAME} MCP server to {path} ({args.client}, {args.scope} scope)")
        print(f"  command: {entry['command']} {' '.join(entry['args'])}")
        print(f"  check it with {client.check}; restart the client if it is running")
    return 0
