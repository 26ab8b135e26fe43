"""The command line's declarations: one set of index flags for every command that builds an index."""

from __future__ import annotations

import pytest

from rtk_lsp.cli import build_parser, main
from rtk_lsp.settings import Settings, settings_from_args

INDEX_FLAGS = [
    "--max-file-size",
    "2048",
    "--history-depth",
    "7",
    "--exclude",
    "vendor/*",
    "--exclude",
    "*.min.js",
]


@pytest.mark.parametrize("command", [["index"], ["plan", "a task"], ["serve"]])
def test_index_flags_mean_the_same_settings_everywhere(command: list[str]) -> None:
    args = build_parser().parse_args([*command, *INDEX_FLAGS])
    assert settings_from_args(args) == Settings(
        max_file_size=2048, history_depth=7, exclude=("vendor/*", "*.min.js")
    )
    assert settings_from_args(build_parser().parse_args(command)) == Settings()


@pytest.mark.parametrize("command", [["index"], ["plan", "a task"], ["serve"]])
def test_a_bad_index_flag_is_a_usage_error(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*command, "--max-file-size", "0"]) == 2
    assert "--max-file-size: must be positive" in capsys.readouterr().err


def test_install_hook_is_a_command_of_its_own() -> None:
    args = build_parser().parse_args(["install-hook", "--budget", "3000", "--uninstall"])
    assert (args.budget, args.uninstall, args.detail) == (3000, True, "content")
    assert args.func.__module__ == "rtk_lsp.hook"
