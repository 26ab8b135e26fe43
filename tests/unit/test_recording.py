"""Recording through the engine (rtk_lsp/recording.py) on a real index: what a served plan
leaves in the episode log, what it does not, and that a log that cannot be written never
fails or holds up a plan (a full disk and a read-only cache on a real tmpfs)."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from gitrepo import GitRepo, make_billing_repo
from procs import fill, tmpfs

from rtk_lsp.engine import Engine
from rtk_lsp.index.episodes import EpisodeLog
from rtk_lsp.paths import db_path_for
from rtk_lsp.plan.request import PlanRequest
from rtk_lsp.settings import EpisodeSettings, Settings
from rtk_lsp.tokens import estimate_tokens

TASK = "fix the discount rounding in InvoiceCalculator.apply_discount\nand keep the tax right"


@contextlib.asynccontextmanager
async def engine_for(root: Path, **episodes: bool) -> AsyncIterator[Engine]:
    engine = Engine(Settings(episodes=EpisodeSettings(**episodes)))
    engine.add_folder(str(root))
    try:
        yield engine
    finally:
        await engine.close()


def logged(root: Path) -> list[dict[str, object]]:
    log = EpisodeLog(str(root), create=False)
    try:
        return log.episodes(limit=100)
    finally:
        log.close()


async def test_a_plan_served_through_a_door_is_recorded(shop: GitRepo) -> None:
    root = shop.root.resolve()
    async with engine_for(root) as engine:
        plan = await engine.plan(str(root), PlanRequest(TASK), door="lsp")
        await engine.plan(
            str(root), PlanRequest(TASK), door="http", session="s-1"
        )  # the cached plan, served again
        await engine.plan(str(root), PlanRequest("tax_for"))  # no door: the engine's own use, not recorded
        before = await engine.status_with_gain()
        assert before["folders"][0]["episodes"]["gain"]["episodes_with_outcomes"] == 0
        outcome = await engine.record_outcome(
            str(root),
            "s-1",
            "mcp",
            read=["billing/invoice.py", str(root / "users/profile.py")],
            edited=["billing/../billing/tax.py", "/etc/passwd", "../outside.py"],
        )
        assert outcome is not None and outcome.recorded == 3
        assert outcome.outside == ("/etc/passwd", "../outside.py")
        status = await engine.status_with_gain()
    [second, first] = logged(root)
    assert (first["door"], first["session"], second["door"], second["session"]) == (
        "lsp",
        None,
        "http",
        "s-1",
    )
    assert first["task_line"] == "fix the discount rounding in InvoiceCalculator.apply_discount"
    assert first["task"] is None, "the task itself only with keepTasks"
    assert first["tokens"] == plan.budget_report.estimated_used and first["budget"] == 4000
    assert first["confidence"] == plan.confidence > 0
    whole = {f.rel_path: estimate_tokens((root / f.rel_path).read_text()) for f in plan.selected}
    assert first["selected"] == [
        {"path": f.rel_path, "tokens": f.estimated_tokens, "whole_file_tokens": whole[f.rel_path]}
        for f in plan.selected
    ]
    assert second["read"] == ["billing/invoice.py", "users/profile.py"] and second["edited"] == [
        "billing/tax.py"
    ]
    [entry] = status["folders"]
    figures = entry["episodes"]
    assert figures["enabled"] is True and figures["days"] == 7 and figures["error"] is None
    assert figures["gain"]["plans"] == 2 and figures["gain"]["episodes_with_outcomes"] == 1


async def test_keep_tasks_and_disabled(shop: GitRepo, tmp_path: Path) -> None:
    root = shop.root.resolve()
    async with engine_for(root, keep_tasks=True) as engine:
        await engine.plan(str(root), PlanRequest(TASK), door="lsp")
    [kept] = logged(root)
    assert kept["task"] == TASK
    async with engine_for(root, keep_tasks=True) as engine:
        long_task = TASK + "\n" + "log line of a pasted build log\n" * 5000
        await engine.plan(str(root), PlanRequest(long_task), door="lsp")
    assert logged(root)[0]["task"] == long_task[:20_000], "a long task is kept up to 20,000 characters"

    other = make_billing_repo(tmp_path / "other").root.resolve()
    async with engine_for(other, enabled=False) as engine:
        plan = await engine.plan(str(other), PlanRequest(TASK), door="http", session="s")
        assert plan.selected, "the plan is served as ever"
        assert await engine.record_outcome(str(other), "s", "mcp", read=["billing/tax.py"]) is None
        status = await engine.status_with_gain()
        assert status["folders"][0]["episodes"]["enabled"] is False
        # The setting can change while serving; what was off stays unrecorded.
        engine.update_settings(engine.settings.replace(episodes=EpisodeSettings(enabled=True)))
        await engine.plan(str(other), PlanRequest(TASK), door="http")
    assert [e["door"] for e in logged(other)] == ["http"]


# ---- a log that cannot be written --------------------------------------------------------------


async def plans_despite(engine: Engine, root: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Three plans and an outcome on a log that cannot be written: served, one warning, said in status."""
    with caplog.at_level(logging.WARNING, logger="rtk_lsp"):
        for session in ("a", "b", "c"):
            plan = await engine.plan(str(root), PlanRequest(TASK), door="http", session=session)
            assert plan.selected[0].rel_path == "billing/invoice.py"
        outcome = await engine.record_outcome(str(root), "a", "mcp", read=["billing/tax.py"])
        status = await engine.status_with_gain()
    warnings = [r.getMessage() for r in caplog.records if r.name == "rtk_lsp.index.episodes"]
    assert len(warnings) == 1 and "no longer recorded" in warnings[0], warnings
    assert outcome is not None and outcome.episode is None and outcome.note, "it says why"
    assert status["folders"][0]["episodes"]["error"], "rtk/status says recording stopped"


@contextlib.asynccontextmanager
async def indexed_on_tmpfs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Path, Path]]:
    """(root, cache): the billing repository, indexed with one plan recorded, into a small tmpfs."""
    root = make_billing_repo(tmp_path / "shop").root.resolve()
    with tmpfs(tmp_path / "cache") as cache:
        monkeypatch.setenv("RTK_LSP_CACHE_DIR", str(cache))
        async with engine_for(root) as engine:
            await engine.plan(str(root), PlanRequest(TASK), door="lsp")
        yield root, cache
        assert [e["session"] for e in logged(root)] == [None], "only the episode written before the fault"


async def test_a_disk_that_fills_up_costs_one_warning_and_no_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async with indexed_on_tmpfs(tmp_path, monkeypatch) as (root, cache), engine_for(root) as engine:
        await engine.plan(str(root), PlanRequest(TASK))  # the store is open, as in a long-running server
        # Empty the WAL, so that the next write must grow a file: on a full disk it cannot.
        with contextlib.closing(sqlite3.connect(db_path_for(str(root)))) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        fill(cache)
        try:
            await plans_despite(engine, root, caplog)
        finally:
            (cache / "filler").unlink()


async def test_a_read_only_cache_costs_one_warning_and_no_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async with indexed_on_tmpfs(tmp_path, monkeypatch) as (root, cache):
        subprocess.run(["mount", "-o", "remount,ro", str(cache)], check=True)  # nothing has it open now
        try:
            async with engine_for(root) as engine:
                await plans_despite(engine, root, caplog)
        finally:
            subprocess.run(["mount", "-o", "remount,rw", str(cache)], check=True)
