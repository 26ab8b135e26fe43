"""What the package manifests promise: the VS Code extension activates on every language the
server parses, and the repository URL no one has confirmed yet is metadata only."""

from __future__ import annotations

import json
import subprocess
import tomllib
from pathlib import Path

import pytest

from rtk_lsp.index.parse import LANGUAGES

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "vscode-client" / "package.json"
# VS Code's language identifiers where they are not the registry's names.
VSCODE_IDS = {"javascript": ("javascript", "javascriptreact"), "tsx": ("typescriptreact",)}
PLACEHOLDER = "github.com/rtk-lsp/rtk-lsp"


def test_the_extension_activates_on_every_parsed_language() -> None:
    events = json.loads(PACKAGE.read_text())["activationEvents"]
    activated = {e.removeprefix("onLanguage:") for e in events if e.startswith("onLanguage:")}
    wanted = {vscode_id for name in LANGUAGES for vscode_id in VSCODE_IDS.get(name, (name,))}
    assert {"ruby", "php", "csharp", "kotlin", "swift", "scala"} <= wanted
    assert activated == wanted


def test_the_unconfirmed_repository_url_is_metadata_only() -> None:
    # Nothing may fetch it, link to it or install from it until someone confirms it exists.
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True, timeout=60
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: no list of the project's files")
    holders = sorted(
        name
        for name in listed.decode().split("\0")
        if name and (REPO / name).is_file() and PLACEHOLDER.encode() in (REPO / name).read_bytes()
    )
    this = Path(__file__).resolve().relative_to(REPO).as_posix()
    assert [h for h in holders if h != this] == ["pyproject.toml", "vscode-client/package.json"]
    urls = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["urls"]
    assert (REPO / "pyproject.toml").read_text().count(PLACEHOLDER) == sum(
        PLACEHOLDER in u for u in urls.values()
    )
    package = json.loads(PACKAGE.read_text())
    metadata = [package["homepage"], package["repository"]["url"], package["bugs"]["url"]]
    assert PACKAGE.read_text().count(PLACEHOLDER) == sum(PLACEHOLDER in u for u in metadata)
