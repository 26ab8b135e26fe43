"""One assembly for every caller, and one rule for reading the sources a plan shows."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import pytest
from gitrepo import GitRepo

from rtk_lsp import planning
from rtk_lsp.plan.pipeline import plan
from rtk_lsp.plan.request import PlanRequest
from rtk_lsp.plan.result import plan_json
from rtk_lsp.planning import build_snapshot, plan_root, plan_snapshot, source_reader
from rtk_lsp.settings import Settings


def test_sources_are_read_by_one_rule(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "a.py").write_text("on disk\n")
    (root / "pkg" / "big.py").write_text("x" * 100)
    (root / "pkg" / "blob.bin").write_bytes(b"\0\1\2")
    outside = tmp_path / "secret.py"
    outside.write_text("SECRET = 1\n")
    (root / "pkg" / "leak.py").symlink_to(outside)
    (root / "pkg" / "alias.py").symlink_to(root / "pkg" / "a.py")
    read = source_reader(str(root.resolve()), 50, {"pkg/edited.py": "unsaved\n"})
    assert read("pkg/a.py") == "on disk\n"
    assert read("pkg/alias.py") == "on disk\n"  # a symlink inside the root is followed
    assert read("pkg/edited.py") == "unsaved\n"  # the editor's text first
    assert read("pkg/leak.py") is None  # never outside the root
    assert read("../secret.py") is None
    assert read("pkg/big.py") is None  # over the size cap
    assert read("pkg/blob.bin") is None  # not text
    assert read("pkg/missing.py") is None


def test_every_way_to_a_plan_gives_the_same_plan(shop: GitRepo) -> None:
    request = PlanRequest("fix the discount rounding in InvoiceCalculator.apply_discount", 3000, "content")
    root = str(shop.root)
    snapshot = build_snapshot(root, Settings())
    by_hand = plan(snapshot, request, source_reader(snapshot.root, Settings().max_file_size))

    def stable(text: str) -> str:
        return text.split('"stats"')[0]

    assert stable(plan_json(plan_snapshot(snapshot, request))) == stable(plan_json(by_hand))
    assert stable(plan_json(plan_root(root, request))) == stable(plan_json(by_hand))
    assert "def apply_discount" in by_hand.context


def test_a_one_shot_plan_runs_with_the_collector_paused(
    shop: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    enabled: list[bool] = []
    real = planning.plan_snapshot

    def spy(*args: Any, **kwargs: Any) -> Any:
        enabled.append(gc.isenabled())
        return real(*args, **kwargs)

    monkeypatch.setattr(planning, "plan_snapshot", spy)
    result = plan_root(str(shop.root), PlanRequest("fix the discount rounding in apply_discount"))
    assert result.selected[0].rel_path == "billing/invoice.py"
    assert enabled == [False]  # the plan, like the refresh before it
    assert gc.isenabled()  # and on again after
