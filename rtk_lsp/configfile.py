"""Editing other programs' configuration files safely: the Claude Code hook and `install-mcp`.

Read whole, change in memory, back the old file up, write the new one atomically with the
old file's mode. A file that does not parse is left exactly as it is.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from typing import Any


def read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        return None


def load_json(path: str) -> dict[str, Any] | None:
    """The JSON object in `path`; None when there is no file; ValueError when it is not one."""
    text = read_text(path)
    return None if text is None else parse_json_object(text)


def parse_json_object(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text) if text.strip() else {}
    except ValueError as exc:
        raise ValueError(f"not plain JSON ({exc}); comments are not supported: edit it by hand") from None
    if not isinstance(data, dict):
        raise ValueError("it does not hold a JSON object")
    return data


def json_text(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def save_text(path: str, text: str) -> None:
    """Write atomically, keeping the mode of the file it replaces (0600 for a new one)."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    mode = 0o600
    with contextlib.suppress(OSError):
        mode = os.stat(path).st_mode & 0o777
    fd, tmp = tempfile.mkstemp(prefix=".rtk-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def backup(path: str) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    name = f"{path}.rtk-backup-{stamp}"
    n = 1
    while os.path.exists(name):
        n += 1
        name = f"{path}.rtk-backup-{stamp}-{n}"
    shutil.copy2(path, name)
    return name


def replace_file(path: str, text: str | None) -> str | None:
    """Back up `path` if it exists, then write `text` (None: remove the file). Returns the backup."""
    saved = backup(path) if os.path.exists(path) else None
    if text is None:
        os.unlink(path)
    else:
        save_text(path, text)
    return saved
