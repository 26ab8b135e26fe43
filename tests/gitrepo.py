"""Real git repositories for tests, made with the git CLI in temporary directories."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from pathlib import Path

_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


class GitRepo:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._clock = 1_700_000_000
        root.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str) -> str:
        env = {
            **os.environ,
            **_ENV,
            "GIT_AUTHOR_DATE": f"{self._clock} +0000",
            "GIT_COMMITTER_DATE": f"{self._clock} +0000",
        }
        env.pop("GIT_DIR", None)
        out = subprocess.run(
            ["git", *args], cwd=self.root, env=env, capture_output=True, text=True, check=True
        )
        return out.stdout.strip()

    def write(self, rel: str, text: str | bytes) -> Path:
        p = self.root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            p.write_bytes(text)
        else:
            p.write_text(text)
        return p

    def commit(self, message: str, files: dict[str, str] | None = None) -> str:
        for rel, text in (files or {}).items():
            self.write(rel, text)
        self._clock += 3600
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")

    @property
    def head(self) -> str:
        return self.git("rev-parse", "HEAD")


# The example workspace shipped in the repository doubles as the tests' small project.
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "shop"
TAX = (EXAMPLE / "billing/tax.py").read_text()


def make_billing_repo(root: Path) -> GitRepo:
    """A small Python project with a known answer: discount tasks belong to billing/invoice.py."""
    repo = GitRepo(root)
    files = {
        p.relative_to(EXAMPLE).as_posix(): p.read_text()
        for p in EXAMPLE.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    repo.commit("initial project", files)
    repo.commit("tax: add US rate", {"billing/tax.py": TAX.replace('"us": 0.07', '"us": 0.08')})
    return repo


# A held git gives up waiting after this long whatever the test does: no orphan lives for ever.
HOLD_GUARD_S = 300


def held_git(tmp_path: Path, env: dict[str, str]) -> Path:
    """Put a `git` first on `env`'s PATH that waits for a gate file, and return the gate.

    A server started with `env` cannot finish its first index (git lists the files) until
    the test creates the gate: "still indexing" then lasts exactly as long as the test
    wants, however fast or loaded the machine is. Removing the gate holds git again (a
    refresh then waits in it); `git_waiting(gate)` exists once a git call is being held.
    """
    real = shutil.which("git")
    assert real
    bin_dir = tmp_path / "held-bin"
    bin_dir.mkdir()
    gate = tmp_path / "gate"
    waiting = git_waiting(gate)
    wrapper = bin_dir / "git"
    wrapper.write_text(
        "#!/bin/sh\n"
        "n=0\n"
        f'while [ ! -e "{gate}" ] && [ $n -lt {HOLD_GUARD_S * 20} ]; do : > "{waiting}"; sleep 0.05; n=$((n + 1)); done\n'
        f'exec "{real}" "$@"\n'
    )
    wrapper.chmod(0o755)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    # The server's own time limit on git calls must not end the hold before the test does.
    env["RTK_LSP_GIT_TIMEOUT"] = str(HOLD_GUARD_S * 2)
    return gate


def git_waiting(gate: Path) -> Path:
    """The file a held git creates while it waits at `gate`."""
    return gate.with_name(gate.name + "-waiting")


async def held(gate: Path, timeout: float = 60) -> None:
    """Wait until a git call is being held at `gate` (the server has reached it)."""
    deadline = time.monotonic() + timeout
    while not git_waiting(gate).exists():
        assert time.monotonic() < deadline, "no git call reached the gate"
        await asyncio.sleep(0.02)


def hold(gate: Path) -> None:
    """Hold the next git calls again (after the gate was opened)."""
    git_waiting(gate).unlink(missing_ok=True)
    gate.unlink(missing_ok=True)


# A small package for issue-style tasks: a traceback target, a loader with a message literal,
# an option in a command line, and a file nothing points at.
TRACKER = {
    "tracker/__init__.py": "from tracker.stats.regression import PolyFit\nfrom tracker.io.loader import load_table\n",
    "tracker/stats/__init__.py": "",
    "tracker/stats/regression.py": (
        '"""Polynomial fits."""\n\n\nclass PolyFit:\n    def __init__(self, order=2):\n'
        "        self.order = order\n\n    def __call__(self, data):\n        return self._fit_predict(data)\n\n"
        "    def _fit_predict(self, data):\n        if len(data) <= self.order:\n"
        '            raise ValueError("order too high for the data")\n        return data\n'
    ),
    "tracker/io/__init__.py": "",
    "tracker/io/loader.py": (
        '"""Reading tables."""\n\n\ndef load_table(path):\n    rows = []\n    for line in open(path):\n'
        "        if not line.strip():\n"
        '            raise ValueError(f"Unrecognized table line: {line!r} in {path}")\n'
        "        rows.append(line.split())\n    return rows\n"
    ),
    "tracker/report.py": (
        '"""Summaries of fitted models."""\n\n\ndef summary(model, rows):\n'
        '    return f"{type(model).__name__}: {len(rows)} rows"\n'
    ),
    "tracker/cli.py": (
        "import argparse\n\n\ndef parser():\n    p = argparse.ArgumentParser()\n"
        '    p.add_argument("--skip-blank", action="store_true", help="ignore blank table lines")\n'
        "    return p\n"
    ),
    "README.md": "# tracker\n\nFits and summaries for tables of measurements.\n",
}


def make_tracker_repo(root: Path) -> GitRepo:
    repo = GitRepo(root)
    repo.commit("tracker: fits, loader, report", TRACKER)
    return repo
