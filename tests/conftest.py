"""Fixtures every test may use: an isolated cache, the example repository, running servers.

`tests/unit/` drives the package in-process; `tests/e2e/` drives real processes (the CLI,
`rtk-lsp serve`, the language server, the hook, Neovim). Helpers that are not fixtures live
beside this file: `gitrepo.py` (git repositories) and `servers.py` (server processes).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from gitrepo import GitRepo, make_billing_repo
from jsonschema import Draft202012Validator
from servers import ServeFactory, Target, make_env, run_door, run_serve


@pytest.fixture(autouse=True)
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test indexes into its own store, never the user's."""
    d = tmp_path / "cache"
    monkeypatch.setenv("RTK_LSP_CACHE_DIR", str(d))
    return d


@pytest.fixture
def shop(tmp_path: Path) -> GitRepo:
    """examples/shop as a git repository with two commits: discount tasks belong to billing/invoice.py."""
    return make_billing_repo(tmp_path / "shop")


@pytest.fixture
def server_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a server subprocess: its own cache and runtime (discovery) dirs."""
    return make_env(tmp_path)


@pytest.fixture
def serve(tmp_path: Path) -> ServeFactory:
    """`async with serve(root, *flags, env=...) as door`: a `rtk-lsp serve` subprocess."""

    def start(root: Path, *args: str, env: dict[str, str] | None = None) -> Any:
        return run_serve(tmp_path, root, *args, env=env)

    return start


@pytest.fixture
def http_door(tmp_path: Path) -> ServeFactory:
    """`async with door(mode, root, env=...) as d`: the HTTP door of `serve` or of the language server."""

    @contextlib.asynccontextmanager
    async def start(mode: str, root: Path, env: dict[str, str] | None = None) -> AsyncIterator[Target]:
        async with run_door(mode, tmp_path, root, env) as target:
            yield target

    return start


@pytest.fixture(scope="session")
def plan_validator() -> Draft202012Validator:
    """Validates a plan's JSON against the schema the package publishes."""
    schema = json.loads(
        (Path(__file__).parents[1] / "rtk_lsp" / "schema" / "plan-context.schema.json").read_text()
    )
    return Draft202012Validator(schema)
