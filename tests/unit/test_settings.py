"""Settings (rtk_lsp/settings.py): one list of keys for the server and the VS Code extension,
editor JSON with nested sections, and RTK_LSP_EPISODES for the doors without an editor."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from rtk_lsp.settings import EpisodeSettings, Settings, environment_settings, setting_keys, settings_from_json

PACKAGE_JSON = Path(__file__).resolve().parents[2] / "vscode-client" / "package.json"
CLIENT_ONLY = {"server.command", "server.pythonPath", "trace.server"}  # read by the extension itself


def test_the_extension_declares_every_server_setting_and_no_other() -> None:
    declared = json.loads(PACKAGE_JSON.read_text())["contributes"]["configuration"]["properties"]
    server_keys = {key.removeprefix("rtk.") for key in declared} - CLIENT_ONLY
    assert server_keys == set(setting_keys())
    for key in ("episodes.enabled", "episodes.keepTasks"):
        entry = declared[f"rtk.{key}"]
        assert entry["type"] == "boolean" and "markdownDescription" in entry
    assert declared["rtk.episodes.enabled"]["default"] is Settings().episodes.enabled is True
    assert declared["rtk.episodes.keepTasks"]["default"] is Settings().episodes.keep_tasks is False


def test_nested_sections() -> None:
    settings, warnings = settings_from_json(
        {"episodes": {"enabled": False, "keepTasks": True}, "http": {"port": 9}}
    )
    assert settings.episodes == EpisodeSettings(enabled=False, keep_tasks=True) and settings.http.port == 9
    assert warnings == []
    settings, warnings = settings_from_json({"episodes": {"keepTasks": "yes"}, "http": 3})
    assert settings == Settings()
    assert len(warnings) == 2 and "rtk.http " in warnings[0] and "rtk.episodes.keepTasks" in warnings[1]
    # The editor's values go on top of what the environment set.
    base = Settings(episodes=EpisodeSettings(enabled=False))
    assert settings_from_json({"tokenBudget": 10}, base)[0].episodes.enabled is False


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, EpisodeSettings()),
        ("off", EpisodeSettings(enabled=False)),
        ("OFF ", EpisodeSettings(enabled=False)),
        ("on", EpisodeSettings()),
        ("keep-tasks", EpisodeSettings(keep_tasks=True)),
        ("sometimes", EpisodeSettings()),
    ],
)
def test_the_environment_turns_recording_off(
    value: str | None,
    expected: EpisodeSettings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    if value is None:
        monkeypatch.delenv("RTK_LSP_EPISODES", raising=False)
    else:
        monkeypatch.setenv("RTK_LSP_EPISODES", value)
    with caplog.at_level(logging.WARNING, logger="rtk_lsp.settings"):
        assert environment_settings().episodes == expected
    assert bool(caplog.records) == (value == "sometimes"), "an unknown value is said, then ignored"
