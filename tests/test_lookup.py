"""`expand` and `find_symbol` on a real snapshot, in process: budgets, ranges, qualified names."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from gitrepo import make_billing_repo

from rtk_lsp.index.snapshot import Snapshot
from rtk_lsp.index.workspace import Workspace
from rtk_lsp.plan.lookup import LookupFailed, expand, find_symbol, render_expansion
from rtk_lsp.settings import Settings
from rtk_lsp.tokens import estimate_tokens


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Snapshot:
    monkeypatch.setenv("RTK_LSP_CACHE_DIR", str(tmp_path / "cache"))
    repo = make_billing_repo(tmp_path / "shop")
    workspace = Workspace(str(repo.root), Settings())
    try:
        return workspace.refresh()
    finally:
        workspace.close()


def reader(snapshot: Snapshot) -> Callable[[str], str | None]:
    return lambda rel: (Path(snapshot.root) / rel).read_text()


def test_expand_fits_the_budget(shop: Snapshot) -> None:
    whole = expand(shop, reader(shop), "billing/invoice.py", ["InvoiceCalculator"])
    [block] = whole["blocks"]
    assert not whole["truncated"] and block["start_line"] == 6 and block["end_line"] == 20
    assert whole["estimated_tokens"] == estimate_tokens(render_expansion(whole)) <= whole["budget"]
    for budget in (40, 60, 90):
        cut = expand(shop, reader(shop), "billing/invoice.py", ["InvoiceCalculator"], budget=budget)
        assert cut["truncated"] and cut["estimated_tokens"] <= budget
        shown = cut["blocks"][0]
        assert shown["start_line"] == 6 and shown["end_line"] < 20 and shown["truncated"]
        assert "class InvoiceCalculator" in shown["text"]
    nothing = expand(shop, reader(shop), "billing/invoice.py", ["InvoiceCalculator"], budget=5)
    assert nothing["blocks"] == [] and nothing["truncated"]
    assert "nothing fits" in render_expansion(nothing)


def test_expand_symbols_and_ranges(shop: Snapshot) -> None:
    both = expand(shop, reader(shop), "billing/invoice.py", ["subtotal", "total"], start_line=1, end_line=2)
    assert [(b["name"], b["kind"]) for b in both["blocks"]] == [
        ("InvoiceCalculator.subtotal", "method"),
        ("InvoiceCalculator.total", "method"),
        ("", "lines"),
    ]
    open_end = expand(shop, reader(shop), "billing/tax.py", start_line=6)
    assert open_end["blocks"][0]["end_line"] == shop.files["billing/tax.py"].lines
    with pytest.raises(LookupFailed, match="has only"):
        expand(shop, reader(shop), "billing/tax.py", start_line=500)
    with pytest.raises(LookupFailed, match="not inside the workspace"):
        expand(shop, reader(shop), "/etc/passwd", start_line=1)
    with pytest.raises(LookupFailed, match=r"defines no 'Tax\.tax_for'"):
        expand(shop, reader(shop), "billing/tax.py", ["Tax.tax_for"])


def test_find_symbol(shop: Snapshot) -> None:
    method = find_symbol(shop, "InvoiceCalculator.apply_discount")
    assert [(d["path"], d["start_line"], d["end_line"]) for d in method["definitions"]] == [
        ("billing/invoice.py", 15, 17)
    ]
    assert find_symbol(shop, "Other.apply_discount")["definitions"] == []
    unknown = find_symbol(shop, "tax_four")
    assert unknown["definitions"] == unknown["references"] == [] and "tax_for" in unknown["suggestions"]
    with pytest.raises(LookupFailed):
        find_symbol(shop, "  ")
