"""Headless Neovim as the LSP client: start_client, rtk/planContext, bad params, :RtkPlan."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from gitrepo import make_billing_repo

REPO = Path(__file__).resolve().parents[1]
NVIM = shutil.which("nvim")

pytestmark = pytest.mark.skipif(NVIM is None, reason="nvim is not installed (apt-get install -y neovim)")


def test_neovim_plans_through_the_server(tmp_path: Path) -> None:
    repo = make_billing_repo(tmp_path / "shop")
    out = tmp_path / "out.json"
    env = {
        **os.environ,
        "RTK_PYTHON": sys.executable,
        "RTK_PYTHONPATH": str(REPO),
        "RTK_CACHE": str(tmp_path / "cache"),
        "RTK_ROOT": str(repo.root),
        "RTK_OUT": str(out),
        "RTK_EDITOR_LUA": str(REPO / "editors" / "nvim" / "rtk.lua"),
        # Keep Neovim's own state (lsp.log, shada) out of the user's home.
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CACHE_HOME": str(tmp_path / "nvim-cache"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }
    env.pop("XDG_RUNTIME_DIR", None)  # the HTTP door's discovery file then goes under the cache dir
    script = REPO / "tests" / "nvim" / "plan.lua"
    assert NVIM is not None
    proc = subprocess.run(
        [NVIM, "--headless", "-u", "NONE", "-i", "NONE", "-c", f"luafile {script}"],
        env=env,
        cwd=repo.root,
        capture_output=True,
        text=True,
        timeout=110,  # the script has its own waits; this only catches a wedged nvim
    )
    assert out.exists(), f"no output; rc={proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    data = json.loads(out.read_text())
    assert proc.returncode == 0, data["log"]
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
