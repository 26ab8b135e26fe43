"""Stand-ins for a workspace and a planner: the engine's scheduling without an index or git.

`FakeWorkspace` records its refreshes and holds one on `gate` until a test opens it;
`Harness.planner` records plans and holds them on `plan_gate`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

from rtk_lsp.plan.request import PlanRequest
from rtk_lsp.settings import Settings


class FakeSnapshot:
    def __init__(self, generation: int, files: Mapping[str, Any]) -> None:
        self.generation = generation
        self.files = dict(files)

    def summary(self) -> dict[str, Any]:
        return {"files": len(self.files), "generation": self.generation}

    def prepare(self, then: Any = None) -> bool:
        return False  # nothing is made on first use here


class FakeWorkspace:
    """Records refresh calls; `gate` holds a refresh until the test opens it."""

    def __init__(self, root: str, settings: Settings) -> None:
        self.root = root
        self.settings = settings
        self.calls: list[tuple[list[str] | None, bool]] = []
        self.overlays: dict[str, str | None] = {}
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.fail: Exception | None = None
        self.head_moved = False
        self.closed = 0
        self.files = {"a.py": 1, "pkg/b.py": 1, "pkg/c.py": 1}
        self._snapshot: FakeSnapshot | None = None

    @property
    def snapshot(self) -> FakeSnapshot | None:
        return self._snapshot

    def refresh(
        self, *, paths: Iterable[str] | None = None, full: bool = False, progress: Any = None
    ) -> FakeSnapshot:
        self.calls.append((None if paths is None else list(paths), full))
        self.entered.set()
        if progress is not None:
            progress("scan", 0, 1)
            progress("parse", 5, 10)
        assert self.gate.wait(10)
        if self.fail is not None:
            raise self.fail
        self.head_moved = False
        generation = self._snapshot.generation + 1 if self._snapshot else 1
        self._snapshot = FakeSnapshot(generation, self.files)
        return self._snapshot

    def set_overlay(self, rel_path: str, text: str | None) -> None:
        self.overlays[rel_path] = text

    def head_changed(self) -> bool:
        return self.head_moved

    def update_settings(self, settings: Settings) -> None:
        self.settings = settings

    def close(self) -> None:
        self.closed += 1


class Harness:
    def __init__(self) -> None:
        self.workspaces: dict[str, FakeWorkspace] = {}
        self.plans: list[tuple[int, PlanRequest]] = []
        self.plan_gate = threading.Event()
        self.plan_gate.set()

    def workspace(self, root: str, settings: Settings) -> FakeWorkspace:
        ws = FakeWorkspace(root, settings)
        self.workspaces[root] = ws
        return ws

    def planner(self, snapshot: Any, request: PlanRequest, overlays: Mapping[str, str]) -> Any:
        self.plans.append((snapshot.generation, request))
        assert self.plan_gate.wait(10)
        return {"task": request.task, "generation": snapshot.generation, "source": overlays.get("a.py")}
