"""The command line in this process: its declarations (one set of index flags for every command that
builds an index, options on either side of the command, help with defaults) and the plan's output."""

from __future__ import annotations

import argparse
import json

import pytest
from gitrepo import GitRepo
from servers import TASK

from rtk_lsp.cli import build_parser, main, options_after_command
from rtk_lsp.settings import DEFAULT_BUDGET, Settings, settings_from_args, settings_from_json

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


# ---- options on either side of the command --------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (["-v", "--root", "/r", "plan", "a task"], ["plan", "a task", "-v", "--root", "/r"]),
        (["--root=/r", "--budget", "9", "plan", "a task"], ["plan", "a task", "--root=/r", "--budget", "9"]),
        (
            ["--exclude", "plan", "index", "--full"],
            ["index", "--full", "--exclude", "plan"],
        ),  # a value, not a command
        (["-v", "serve", "--root", "/a"], ["serve", "--root", "/a", "-v"]),
        (["-v", "lsp"], ["lsp", "--verbose"]),
    ],
)
def test_options_may_come_before_or_after_the_command(before: list[str], after: list[str]) -> None:
    parser = build_parser()
    assert parser.parse_args(options_after_command(parser, before)) == parser.parse_args(after)


def test_an_option_the_command_does_not_take_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--root", "/r", "lsp"]) == 2
    assert "unrecognized arguments: --root /r" in capsys.readouterr().err
    assert main(["--version", "plan", "x"]) == 0  # the program's own options stay its own
    assert capsys.readouterr().out.startswith("rtk-lsp ")


def test_every_option_has_help_that_gives_its_default() -> None:
    parser = build_parser()
    commands = {
        name: command
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
        for name, command in action.choices.items()
    }
    assert {"index", "plan", "lsp", "demo", "mcp", "serve", "install-mcp", "install-hook"} <= set(commands)
    for name, command in commands.items():
        for action in command._actions:
            if not action.option_strings or action.help == argparse.SUPPRESS:
                continue
            where = f"rtk-lsp {name} {action.option_strings[-1]}"
            assert action.help, f"{where} has no help"
            if action.nargs != 0:  # it takes a value
                assert "default" in action.help or action.required, f"{where} does not say its default"


# ---- plan: one meaning of budget 0, markdown, the task's own words --------------------------------


def plan_json_of(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    assert main(["plan", *args, "--format", "json", "--no-server"]) == 0
    result: dict[str, object] = json.loads(capsys.readouterr().out)
    return result


def test_a_zero_budget_means_the_default(shop: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    result = plan_json_of(capsys, TASK, "--root", str(shop.root), "--budget", "0")
    assert result["budget_report"]["token_budget"] == DEFAULT_BUDGET  # type: ignore[index]
    assert main(["plan", TASK, "--root", str(shop.root), "--budget", "-1"]) == 2
    assert (
        capsys.readouterr().err == "rtk-lsp: error: --budget: must be 0 (the default) or positive, got -1\n"
    )
    assert build_parser().parse_args(["install-hook", "--budget", "0"]).budget == DEFAULT_BUDGET
    # The editors' setting too: 0 is the default, not an invalid value.
    assert settings_from_json({"tokenBudget": 0}, Settings(token_budget=99)) == (Settings(), [])


def test_markdown_prints_the_plans_context(shop: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    context = plan_json_of(capsys, TASK, "--root", str(shop.root))["context"]
    assert isinstance(context, str) and "## billing/invoice.py" in context
    assert main(["plan", TASK, "--root", str(shop.root), "--format", "markdown", "--no-server"]) == 0
    assert capsys.readouterr().out == context.rstrip("\n") + "\n"


def test_people_are_shown_the_tasks_words_not_stems(
    shop: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    task = "fix the rounding of discounts in matrices of invoices"
    assert main(["plan", task, "--root", str(shop.root), "--no-server"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith("confidence: ")
    assert lines[2] == "intent: bugfix   keywords: rounding, discounts, matrices, invoices"
    assert lines[5].startswith(" 1. billing/invoice.py")  # and the ranking still meets the code on stems
    keywords = plan_json_of(capsys, task, "--root", str(shop.root))["intent"]["keywords"]  # type: ignore[index]
    assert keywords == ["rounding", "discounts", "matrices", "invoices"]
