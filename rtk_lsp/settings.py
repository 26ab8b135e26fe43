"""The one typed source of every user setting.

Editors send camelCase JSON (`initializationOptions`, `workspace/configuration`
section "rtk"); the CLI builds the same object from flags. Invalid values never
raise: they fall back to the default and are reported as warnings. Outside an editor,
`RTK_LSP_EPISODES` sets what `rtk.episodes.*` sets in one (`environment_settings`).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DEFAULT_BUDGET = 4000
MAX_BUDGET = 1_000_000
DEFAULT_MAX_FILE_SIZE = 1024 * 1024
EPISODES_ENV = "RTK_LSP_EPISODES"  # off | on | keep-tasks

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class HttpSettings:
    enabled: bool = True
    port: int = 0  # 0 = an ephemeral port


@dataclass(frozen=True, slots=True)
class EpisodeSettings:
    """Whether plans served (and what agents then did) are recorded; see rtk_lsp/recording.py."""

    enabled: bool = True
    keep_tasks: bool = False  # the full task text too (otherwise a digest and its first line)


@dataclass(frozen=True, slots=True)
class Settings:
    token_budget: int = DEFAULT_BUDGET
    exclude: tuple[str, ...] = ()  # extra glob patterns, relative to the workspace root
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    history_depth: int = 5000
    plan_timeout: float = 30.0  # seconds a plan waits for a folder's first index
    http: HttpSettings = field(default_factory=HttpSettings)
    episodes: EpisodeSettings = field(default_factory=EpisodeSettings)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def _int_in(value: Any, lo: int, hi: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not value.is_integer():
        return None
    return int(value) if lo <= value <= hi else None


def _budget(value: Any) -> int | None:
    budget = _int_in(value, 0, MAX_BUDGET)
    return DEFAULT_BUDGET if budget == 0 else budget  # 0 means the default, as in every plan request


def _positive_float(value: Any, hi: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if 0 < value <= hi else None


def _globs(value: Any) -> tuple[str, ...] | None:
    if isinstance(value, list | tuple) and all(isinstance(v, str) and v for v in value):
        return tuple(value)
    return None


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


# camelCase key -> (attribute, validator, description of a valid value)
_FIELDS: dict[str, tuple[str, Any, str]] = {
    "tokenBudget": ("token_budget", _budget, f"an integer in 0..{MAX_BUDGET} (0: the default)"),
    "exclude": ("exclude", _globs, "a list of non-empty glob strings"),
    "maxFileSize": ("max_file_size", lambda v: _int_in(v, 1, 1 << 31), "a positive integer (bytes)"),
    "historyDepth": ("history_depth", lambda v: _int_in(v, 0, 1_000_000), "an integer in 0..1000000"),
    "planTimeout": ("plan_timeout", lambda v: _positive_float(v, 3600), "a number of seconds in (0, 3600]"),
}
_HTTP_FIELDS: dict[str, tuple[str, Any, str]] = {
    "enabled": ("enabled", _bool, "true or false"),
    "port": ("port", lambda v: _int_in(v, 0, 65535), "an integer in 0..65535"),
}
_EPISODE_FIELDS: dict[str, tuple[str, Any, str]] = {
    "enabled": ("enabled", _bool, "true or false"),
    "keepTasks": ("keep_tasks", _bool, "true or false"),
}
# camelCase key of a nested object -> (attribute, its fields)
_SECTIONS: dict[str, tuple[str, dict[str, tuple[str, Any, str]]]] = {
    "http": ("http", _HTTP_FIELDS),
    "episodes": ("episodes", _EPISODE_FIELDS),
}


def setting_keys() -> list[str]:
    """Every key an editor may send, dotted below the `rtk` section (`http.port`)."""
    keys = list(_FIELDS)
    for name, (_attr, fields) in _SECTIONS.items():
        keys.extend(f"{name}.{key}" for key in fields)
    return keys


def _apply(
    target: Any,
    raw: Mapping[str, Any],
    fields: dict[str, tuple[str, Any, str]],
    prefix: str,
    warnings: list[str],
) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in fields:
            continue  # unknown keys are ignored: clients send whole sections
        attr, check, expected = fields[key]
        if value is None:
            continue
        parsed = check(value)
        if parsed is None:
            warnings.append(
                f"setting {prefix}{key}={value!r} is invalid (expected {expected}); "
                f"using {getattr(target, attr)!r}"
            )
        else:
            changes[attr] = parsed
    return changes


def settings_from_json(raw: Any, base: Settings | None = None) -> tuple[Settings, list[str]]:
    """Build settings from editor JSON. Returns the settings and warnings for invalid values."""
    base = base or Settings()
    warnings: list[str] = []
    if raw is None:
        return base, warnings
    if not isinstance(raw, Mapping):
        return base, [f"settings must be an object, got {type(raw).__name__}; using defaults"]
    # Some clients nest everything under the section name.
    if isinstance(raw.get("rtk"), Mapping):
        raw = raw["rtk"]
    changes = _apply(base, raw, _FIELDS, "rtk.", warnings)
    for name, (attr, fields) in _SECTIONS.items():
        section = raw.get(name)
        current = getattr(base, attr)
        if isinstance(section, Mapping):
            found = _apply(current, section, fields, f"rtk.{name}.", warnings)
            changes[attr] = dataclasses.replace(current, **found)
        elif section is not None:
            warnings.append(f"setting rtk.{name} must be an object; using defaults")
    return base.replace(**changes), warnings


_EPISODE_MODES = {
    "off": EpisodeSettings(enabled=False),
    "on": EpisodeSettings(),
    "keep-tasks": EpisodeSettings(keep_tasks=True),
}


def environment_settings(base: Settings | None = None) -> Settings:
    """`base` (default: the defaults) with what the environment sets: `RTK_LSP_EPISODES`.

    The doors without editor settings (the CLI, `serve`, `mcp`, the servers the hook starts)
    take these as they are; the language server starts from them and the editor's
    `rtk.episodes.*` goes on top.
    """
    base = base or Settings()
    raw = os.environ.get(EPISODES_ENV, "").strip().lower()
    if not raw:
        return base
    mode = _EPISODE_MODES.get(raw)
    if mode is None:
        log.warning("%s=%r is not one of %s; using %r", EPISODES_ENV, raw, ", ".join(_EPISODE_MODES), "on")
        return base
    return base.replace(episodes=mode)


# ---- command-line flags ----------------------------------------------------------------------------


def positive_int(text: str) -> int:
    """An argparse type: a whole number above zero."""
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


def add_index_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags that shape an index, for every command that builds one (`index`, `plan`, `serve`)."""
    defaults = Settings()
    parser.add_argument(
        "--max-file-size",
        type=positive_int,
        metavar="BYTES",
        help=f"larger files are indexed as metadata only (default {defaults.max_file_size}: 1 MiB)",
    )
    parser.add_argument(
        "--history-depth",
        type=int,
        metavar="N",
        help=f"newest commits of HEAD to learn from (default {defaults.history_depth})",
    )
    parser.add_argument(
        "--exclude",
        action="append",
        metavar="GLOB",
        help="paths to leave out, besides .gitignore'd, vendored and build ones (repeatable; default none)",
    )


def index_flags_given(args: argparse.Namespace) -> bool:
    return bool(args.exclude or args.max_file_size or args.history_depth is not None)


def settings_from_args(args: argparse.Namespace, base: Settings | None = None) -> Settings:
    """Settings with what the flags of `add_index_arguments` changed (over the environment's)."""
    s = base or environment_settings()
    if args.max_file_size:
        s = s.replace(max_file_size=args.max_file_size)
    if args.history_depth is not None:
        s = s.replace(history_depth=args.history_depth)
    if args.exclude:
        s = s.replace(exclude=tuple(args.exclude))
    return s
