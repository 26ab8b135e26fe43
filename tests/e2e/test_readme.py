"""The README's example output is what the CLI prints, so that it cannot drift.

The block after `<!-- output of the command below, checked by tests/e2e/test_readme.py -->` starts
with `$ rtk-lsp ARGS`; the test runs those ARGS (on the example that ships in the package, with a
cache of its own and no server) and compares its stdout with the rest of the block. After a change
to the plan's output, regenerate the block with
`RTK_UPDATE_GOLDEN=1 pytest tests/e2e/test_readme.py`.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

from servers import cli

README = Path(__file__).resolve().parents[2] / "README.md"
MARKER = "<!-- output of the command below, checked by tests/e2e/test_readme.py -->"
FENCE = re.compile(re.escape(MARKER) + r"\n```text\n\$ (?P<command>[^\n]*)\n(?P<output>.*?)```\n", re.S)
# What would make the block differ from run to run: timings, temporary and home paths, commit ids.
RUN_DEPENDENT = re.compile(r"\d+(\.\d+)? ?(ms|s)\b|/tmp/|/home/|\.cache|\b[0-9a-f]{40}\b")


def test_the_readme_example_is_the_real_output(tmp_path: Path) -> None:
    text = README.read_text()
    found = FENCE.search(text)
    assert found, f"README.md has no ```text block after {MARKER}"
    command = shlex.split(found["command"])
    assert command[0] == "rtk-lsp"
    env = {**os.environ, "RTK_LSP_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("XDG_RUNTIME_DIR", None)  # no server the developer may be running
    proc = cli(env, *command[1:])
    assert proc.returncode == 0, proc.stderr
    stdout = proc.stdout.decode()
    assert not RUN_DEPENDENT.search(stdout), "the example would differ from run to run"
    if os.environ.get("RTK_UPDATE_GOLDEN"):
        README.write_text(text[: found.start("output")] + stdout + text[found.end("output") :])
        return
    assert stdout == found["output"], (
        "README.md's example output differs from the CLI's; regenerate it with "
        "RTK_UPDATE_GOLDEN=1 pytest tests/e2e/test_readme.py"
    )
