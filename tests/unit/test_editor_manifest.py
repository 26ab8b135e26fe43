"""The VS Code extension activates on every language the server parses (rtk_lsp/index/parse's registry)."""

from __future__ import annotations

import json
from pathlib import Path

from rtk_lsp.index.parse import LANGUAGES

PACKAGE = Path(__file__).resolve().parents[2] / "vscode-client" / "package.json"
# VS Code's language identifiers where they are not the registry's names.
VSCODE_IDS = {"javascript": ("javascript", "javascriptreact"), "tsx": ("typescriptreact",)}


def test_the_extension_activates_on_every_parsed_language() -> None:
    events = json.loads(PACKAGE.read_text())["activationEvents"]
    activated = {e.removeprefix("onLanguage:") for e in events if e.startswith("onLanguage:")}
    wanted = {vscode_id for name in LANGUAGES for vscode_id in VSCODE_IDS.get(name, (name,))}
    assert {"ruby", "php", "csharp", "kotlin", "swift", "scala"} <= wanted
    assert activated == wanted
