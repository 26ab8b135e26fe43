"""The snapshot owns the lookups every plan on it shares, made once and patched from its predecessor."""

from __future__ import annotations

import pickle
import threading
from pathlib import Path
from typing import Any

import pytest
from gitrepo import GitRepo, make_billing_repo

from rtk_lsp.index import snapshot as snapshot_module
from rtk_lsp.index.snapshot import Lookups, Snapshot
from rtk_lsp.index.workspace import Workspace
from rtk_lsp.plan.pipeline import plan, plan_json
from rtk_lsp.plan.request import PlanRequest
from rtk_lsp.settings import Settings

LOOKUPS = ("text", "classes", "multi_word", "one_word", "by_stem", "by_dir", "literal_words")
TASK = "fix the discount rounding in InvoiceCalculator.apply_discount"


def assert_fresh(snap: Snapshot) -> None:
    fresh = Lookups(snap.files)
    for attr in LOOKUPS:
        assert getattr(snap.lookups, attr) == getattr(fresh, attr), attr


def stable(snap: Snapshot, task: str = TASK) -> str:
    text = plan_json(plan(snap, PlanRequest(task)))
    return text.split('"stats"')[0]  # the ranking and selection; stats say how the snapshot was made


def test_each_refresh_patches_the_lookups_it_follows(shop: GitRepo) -> None:
    ws = Workspace(str(shop.root), Settings(), use_store=False)
    first = ws.refresh()
    assert_fresh(first)
    shop.write("billing/tax.py", "def vat_rate(region):\n    return 0.2\n\n\nclass TaxTable:\n    pass\n")
    shop.write("reports/monthly_report.py", "def build_monthly_report():\n    pass\n")
    (shop.root / "users/profile.py").unlink()
    second = ws.refresh()
    assert second.lookups is second.lookups  # made once
    assert_fresh(second)
    assert "users/profile.py" not in second.lookups.text
    assert [e[0] for e in second.lookups.multi_word["vat"]] == ["billing/tax.py"]
    # the earlier snapshot is untouched by the patch
    assert "users/profile.py" in first.lookups.text and "vat" not in first.lookups.multi_word


def test_unplanned_snapshots_keep_one_made_predecessor_not_each(shop: GitRepo) -> None:
    ws = Workspace(str(shop.root), Settings(), use_store=False)
    first = ws.refresh()
    first.lookups  # noqa: B018 (made: the next snapshots patch from it)
    for i in range(3):
        shop.write("billing/tax.py", f"RATE = {i}\n")
        ws.refresh(paths=["billing/tax.py"])
    last = ws.snapshot
    assert last is not None
    # What an editor does between two plans: many refreshes. Each unplanned snapshot points at
    # the one made predecessor, so none of the snapshots in between is kept alive by the chain.
    assert last._lookups._base is first._lookups
    assert_fresh(last)
    assert last._lookups._base is None  # made: the predecessor is let go


def test_two_workspaces_in_one_process_plan_as_if_alone(tmp_path: Path) -> None:
    a_repo = make_billing_repo(tmp_path / "a")
    b_repo = make_billing_repo(tmp_path / "b")
    b_repo.write(
        "billing/discounts.py", "def apply_discount(total, rate):\n    return round(total * rate, 2)\n"
    )
    alone = {}
    for name, repo in (("a", a_repo), ("b", b_repo)):
        alone[name] = stable(Workspace(str(repo.root), Settings(), use_store=False).refresh())

    wa = Workspace(str(a_repo.root), Settings(), use_store=False)
    wb = Workspace(str(b_repo.root), Settings(), use_store=False)
    a1, b1 = wa.refresh(), wb.refresh()
    assert stable(a1) == alone["a"] and stable(b1) == alone["b"]
    a_repo.write("users/profile.py", "def display_name(user):\n    return user.name\n")
    a2 = wa.refresh(paths=["users/profile.py"])
    b2 = wb.refresh()
    assert_fresh(a2)
    assert_fresh(b2)
    assert stable(b2) == alone["b"]


def test_a_pickled_snapshot_stands_alone(shop: GitRepo) -> None:
    ws = Workspace(str(shop.root), Settings(), use_store=False)
    first = ws.refresh()
    first.lookups  # noqa: B018
    shop.write("billing/tax.py", "RATE = 1\n")
    second = ws.refresh(paths=["billing/tax.py"])
    copy = pickle.loads(pickle.dumps(second))
    assert stable(copy) == stable(second)
    assert_fresh(copy)


def test_prepare_makes_what_a_first_plan_would_only_when_it_is_made_from_nothing(shop: GitRepo) -> None:
    ws = Workspace(str(shop.root), Settings(), use_store=False)
    first = ws.refresh()
    assert first._lookups._value is None  # a refresh alone leaves them to the first plan
    held: list[bool] = []
    assert first.prepare(then=lambda: held.append(first._lookups._lock.locked())) is True
    assert held == [True]  # run before a plan waiting for the lookups may go on
    assert first._lookups._value is not None and "subjects" in vars(first.history)
    assert_fresh(first)
    assert first.prepare() is False  # made already

    # One file of many: patched when a plan asks, as before.
    shop.write("billing/tax.py", "def vat_rate(region):\n    return 0.2\n")
    small = ws.refresh()
    assert small.prepare(then=lambda: held.append(False)) is False and small._lookups._value is None
    assert held == [True]  # nothing made, nothing run
    assert_fresh(small)

    # Most files (a branch switch): made from nothing, so made now.
    for rel in list(small.files):
        if rel.endswith(".py"):
            shop.write(rel, (shop.root / rel).read_text() + "\n\ndef added_by_the_switch():\n    pass\n")
    switched = ws.refresh()
    assert switched.prepare() is True and switched._lookups._value is not None
    assert_fresh(switched)
    assert stable(switched) == stable(Workspace(str(shop.root), Settings(), use_store=False).refresh())


def test_lookups_asked_for_by_two_threads_at_once_are_made_once(
    shop: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    snap = Workspace(str(shop.root), Settings(), use_store=False).refresh()
    made: list[int] = []
    both_asking = threading.Barrier(2)

    second = threading.Event()

    class Counted(Lookups):
        def __init__(self, files: Any = None) -> None:
            made.append(1)
            if len(made) == 1:
                # Unlocked, the other thread would get here meanwhile; locked, it cannot, and
                # this gives up waiting for it.
                second.wait(timeout=2)
            else:
                second.set()
            super().__init__(files)

    monkeypatch.setattr(snapshot_module, "Lookups", Counted)
    got: list[Lookups] = []

    def ask() -> None:
        both_asking.wait()
        got.append(snap.lookups)

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == 1 and got[0] is got[1]
