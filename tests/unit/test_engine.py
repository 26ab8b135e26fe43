"""The engine's scheduling, with a scripted workspace and planner (no index, no git)."""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeWorkspace, Harness

from rtk_lsp.engine import Engine, EngineClosed, IndexFailed, IndexNotReady, UnknownWorkspace
from rtk_lsp.plan.request import PlanRequest
from rtk_lsp.settings import Settings


async def until(predicate: Any, what: str = "condition", timeout: float = 30) -> None:
    """Wait for a condition the engine brings about on its own (timers, workers): never a fixed sleep."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


@pytest.fixture
async def harness() -> Any:
    h = Harness()
    engine = Engine(
        Settings(plan_timeout=5),
        workspace_factory=h.workspace,
        planner=h.planner,
        coalesce_delay=0.2,
        overlay_delay=0.1,
    )
    yield h, engine
    h.plan_gate.set()
    for ws in h.workspaces.values():
        ws.gate.set()
    await engine.close()


async def test_first_index_then_plan(harness: Any, tmp_path: Path) -> None:
    h, engine = harness
    folder = engine.add_folder(str(tmp_path))
    result = await engine.plan(folder, PlanRequest("fix a"))
    assert result["generation"] == 1
    assert folder.state == "ready"
    assert h.workspaces[folder.root].calls == [(None, False)]
    entry = engine.status()["folders"][0]
    assert entry["state"] == "ready" and entry["files"] == 3 and entry["uri"] == tmp_path.as_uri()


async def test_plan_times_out_naming_the_progress(harness: Any, tmp_path: Path) -> None:
    h, engine = harness
    engine_root = str(tmp_path.resolve())
    h_ws_gate = threading.Event()  # held closed until the plan has given up
    original = h.workspace

    def slow(root: str, settings: Settings) -> FakeWorkspace:
        ws: FakeWorkspace = original(root, settings)
        ws.gate = h_ws_gate
        return ws

    engine._workspace_factory = slow
    folder = engine.add_folder(engine_root)
    await asyncio.to_thread(h.workspaces[engine_root].entered.wait, 5)
    await asyncio.sleep(0.05)  # let the progress hop reach the loop
    with pytest.raises(IndexNotReady) as info:
        await engine.plan(folder, PlanRequest("x"), timeout=0.05)
    assert f"still indexing {engine_root}: parse 5/10 files" in str(info.value)
    assert info.value.progress == {"phase": "parse", "done": 5, "total": 10}
    assert engine.status()["folders"][0]["state"] == "indexing"
    h_ws_gate.set()
    assert (await engine.plan(folder, PlanRequest("x")))["generation"] == 1


async def test_identical_concurrent_plans_share_one_computation(harness: Any, tmp_path: Path) -> None:
    h, engine = harness
    folder = engine.add_folder(str(tmp_path))
    await engine.plan(folder, PlanRequest("warm up"))
    h.plans.clear()
    h.plan_gate.clear()
    same = [asyncio.create_task(engine.plan(folder, PlanRequest("same", 100))) for _ in range(3)]
    other = asyncio.create_task(engine.plan(folder, PlanRequest("other", 100)))
    await asyncio.sleep(0.1)
    same[0].cancel()  # one client gives up: the others still get the shared answer
    h.plan_gate.set()
    results = await asyncio.gather(*same[1:], other)
    assert same[0].cancelled()
    assert sorted(r.task for _, r in h.plans) == ["other", "same"]
    assert results[0] is results[1]
    assert folder.plans.misses == 3 and folder.plans.hits == 2
    # the same request on the same snapshot is then answered from the cache
    again = await engine.plan(folder, PlanRequest("same", 100))
    assert again is results[0] and len(h.plans) == 2


async def test_file_events_burst_is_one_refresh(harness: Any, tmp_path: Path) -> None:
    h, engine = harness
    folder = engine.add_folder(str(tmp_path))
    await engine.plan(folder, PlanRequest("warm up"))
    ws = h.workspaces[folder.root]
    # One burst: no await in between, so the window cannot close inside it however slow the machine.
    for i in range(10):
        engine.notify_changed([str(tmp_path / f"f{i}.py")])
    engine.notify_changed([(tmp_path / "g.py").as_uri(), str(tmp_path / ".git" / "objects" / "ab")])
    await until(lambda: folder.refreshes == 2, "the refresh")
    assert ws.calls[1:] == [(sorted([f"f{i}.py" for i in range(10)] + ["g.py"]), False)]


async def test_head_move_alone_refreshes_history_only(harness: Any, tmp_path: Path) -> None:
    h, engine = harness
    folder = engine.add_folder(str(tmp_path))
    await engine.plan(folder, PlanRequest("warm up"))
    engine.notify_changed([str(tmp_path / ".git" / "refs" / "heads" / "main")])
    await until(lambda: folder.refreshes == 2, "the refresh")
    assert h.workspaces[folder.root].calls[1:] == [([], False)]


async def test_moved_head_seen_before_a_plan_rescans(harness: Any, tmp_path: Path) -> None:
    h, engine = harness
    folder = engine.add_folder(str(tmp_path))
    await engine.plan(folder, PlanRequest("warm up"))
    ws = h.workspaces[folder.root]
    ws.head_moved = True  # a checkout no watcher told us about: files may have changed too
    result = await engine.plan(folder, PlanRequest("warm up"))
    assert ws.calls[1:] == [(None, False)]
    assert result["generation"] == 2


async def test_overlays_are_debounced_and_caught_up_before_a_plan(harness: Any, tmp_path: Path) -> None:
    h, engine = harness
    (tmp_path / "a.py").write_text("on disk\n")
    folder = engine.add_folder(str(tmp_path))
    await engine.plan(folder, PlanRequest("warm up"))
    ws = h.workspaces[folder.root]
    uri = (tmp_path / "a.py").as_uri()
    engine.set_overlay(uri, "on disk\n")  # an unmodified file just opened: compared in a worker, dropped
    await until(lambda: not folder.changes.overlays and not folder.changes.waiting(), "the comparison")
    for text in ("v1", "v2", "v3"):  # typed faster than the debounce, whatever the machine's speed
        engine.set_overlay(uri, text)
    await until(lambda: folder.refreshes == 2, "the debounced refresh")
    assert ws.calls[1:] == [(["a.py"], False)]
    assert ws.overlays == {"a.py": "v3"}
    # an edit followed at once by a plan: the plan does not wait for the debounce, it flushes
    engine.set_overlay(uri, "v4")
    result = await engine.plan(folder, PlanRequest("read it", detail="content"))
    assert ws.calls[2:] == [(["a.py"], False)] and result["source"] == "v4"
    engine.set_overlay(uri, None)
    await until(lambda: folder.refreshes == 4, "the refresh that drops the overlay")
    assert ws.overlays["a.py"] is None and ws.calls[3:] == [(["a.py"], False)]


async def test_a_deleted_directory_reaches_the_workspace_as_one_path(harness: Any, tmp_path: Path) -> None:
    # The workspace expands directories itself (tests/unit/test_workspace.py); the engine passes them on.
    h, engine = harness
    folder = engine.add_folder(str(tmp_path))
    await engine.plan(folder, PlanRequest("warm up"))
    engine.notify_changed([str(tmp_path / "pkg")])  # gone from disk, was a directory
    await engine.catch_up(folder)
    assert h.workspaces[folder.root].calls[1:] == [(["pkg"], False)]


async def test_failure_is_logged_once_and_marks_the_folder(
    harness: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    h, engine = harness
    original = h.workspace

    def broken(root: str, settings: Settings) -> FakeWorkspace:
        ws: FakeWorkspace = original(root, settings)
        ws.fail = OSError("disk on fire")
        return ws

    engine._workspace_factory = broken
    with caplog.at_level(logging.ERROR, logger="rtk_lsp.engine"):
        folder = engine.add_folder(str(tmp_path))
        with pytest.raises(IndexFailed, match="disk on fire"):
            await engine.plan(folder, PlanRequest("x"))
        await engine.refresh(folder)
        await engine.refresh(folder)
    assert folder.state == "failed"
    assert engine.status()["folders"][0]["error"] == "OSError: disk on fire"
    assert len([r for r in caplog.records if "disk on fire" in r.getMessage()]) == 1
    h.workspaces[folder.root].fail = None
    status = await engine.refresh(folder)
    assert status["state"] == "ready" and status["error"] is None


async def test_unopenable_root_fails_without_raising(tmp_path: Path) -> None:
    engine = Engine()
    folder = engine.add_folder(str(tmp_path / "missing"))
    assert folder.state == "failed" and "NotADirectoryError" in (folder.error or "")
    with pytest.raises(IndexFailed):
        await engine.plan(folder, PlanRequest("x"))
    await engine.close()


async def test_folder_lookup_is_longest_prefix(harness: Any, tmp_path: Path) -> None:
    _, engine = harness
    inner = tmp_path / "inner"
    inner.mkdir()
    outer_folder = engine.add_folder(str(tmp_path))
    inner_folder = engine.add_folder(str(inner))
    assert engine.add_folder(str(tmp_path)) is outer_folder
    assert engine.folder_for((inner / "x.py").as_uri()) is inner_folder
    assert engine.folder_for(str(tmp_path / "innerx" / "y.py")) is outer_folder
    assert engine.folder_for(str(tmp_path)) is outer_folder
    assert engine.folder_for("/elsewhere/z.py") is None
    assert engine.folder_for("untitled:Untitled-1") is None
    assert engine.resolve(inner.as_uri()) is inner_folder
    assert [f.root for f in engine.folders()] == [outer_folder.root, inner_folder.root]


async def test_removed_folder_is_closed_and_unknown(harness: Any, tmp_path: Path) -> None:
    h, engine = harness
    folder = engine.add_folder(str(tmp_path))
    await engine.plan(folder, PlanRequest("x"))
    assert engine.remove_folder(tmp_path.as_uri()) is folder
    await until(lambda: h.workspaces[folder.root].closed == 1, "the workspace to close")
    with pytest.raises(UnknownWorkspace):
        await engine.plan(folder, PlanRequest("x"))
    with pytest.raises(UnknownWorkspace):
        await engine.plan(str(tmp_path), PlanRequest("x"))


async def test_close_abandons_a_running_index(tmp_path: Path) -> None:
    h = Harness()
    engine = Engine(workspace_factory=h.workspace, planner=h.planner)
    folder = engine.add_folder(str(tmp_path))
    ws = h.workspaces[folder.root]
    ws.gate.clear()
    await asyncio.to_thread(ws.entered.wait, 5)
    closing = asyncio.create_task(engine.close())
    await asyncio.sleep(0.05)
    ws.gate.set()
    await closing
    assert ws.closed == 1 and not engine.busy()
    with pytest.raises(EngineClosed):
        await engine.plan(folder, PlanRequest("x"))


async def test_settings_that_shape_the_index_rescan(harness: Any, tmp_path: Path) -> None:
    h, engine = harness
    folder = engine.add_folder(str(tmp_path))
    await engine.plan(folder, PlanRequest("x"))
    ws = h.workspaces[folder.root]
    engine.update_settings(engine.settings.replace(token_budget=100))
    await asyncio.sleep(0.05)
    assert ws.calls[1:] == [] and ws.settings.token_budget == 100
    engine.update_settings(engine.settings.replace(exclude=("vendor/**",)))
    await until(lambda: folder.refreshes == 2, "the re-scan")
    assert ws.calls[1:] == [(None, False)] and ws.settings.exclude == ("vendor/**",)


async def test_a_new_index_makes_what_a_first_plan_would_in_a_worker_once_ready(shop: Any) -> None:
    engine = Engine(Settings())
    try:
        folder = engine.add_folder(str(shop.root))
        await folder.ready
        assert folder.state == "ready" and folder.preparing is not None
        await asyncio.wrap_future(folder.preparing)
        snapshot = folder.workspace.snapshot if folder.workspace is not None else None
        assert snapshot is not None
        # made without a plan: the first plan finds them made
        assert snapshot._lookups._value is not None and "subjects" in vars(snapshot.history)
        plan = await engine.plan(folder, PlanRequest("fix the discount rounding in apply_discount"))
        assert plan.selected[0].rel_path == "billing/invoice.py"
    finally:
        await engine.close()
