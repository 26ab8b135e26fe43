"""`expand` and `find_symbol` on a real snapshot, in process: budgets, ranges, qualified names."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from gitrepo import GitRepo

from rtk_lsp.index.snapshot import Snapshot
from rtk_lsp.plan.lookup import LookupFailed, expand, find_symbol, render_expansion
from rtk_lsp.planning import build_snapshot, source_reader
from rtk_lsp.settings import Settings
from rtk_lsp.tokens import estimate_tokens


@pytest.fixture
def snapshot(shop: GitRepo) -> Snapshot:
    return build_snapshot(str(shop.root), Settings())


def reader(snapshot: Snapshot) -> Callable[[str], str | None]:
    return source_reader(snapshot.root, Settings().max_file_size)


def test_expand_fits_the_budget(snapshot: Snapshot) -> None:
    whole = expand(snapshot, reader(snapshot), "billing/invoice.py", ["InvoiceCalculator"])
    [block] = whole["blocks"]
    assert not whole["truncated"] and block["start_line"] == 6 and block["end_line"] == 20
    assert whole["estimated_tokens"] == estimate_tokens(render_expansion(whole)) <= whole["budget"]
    for budget in (40, 60, 90):
        cut = expand(snapshot, reader(snapshot), "billing/invoice.py", ["InvoiceCalculator"], budget=budget)
        assert cut["truncated"] and cut["estimated_tokens"] <= budget
        shown = cut["blocks"][0]
        assert shown["start_line"] == 6 and shown["end_line"] < 20 and shown["truncated"]
        assert "class InvoiceCalculator" in shown["text"]
    nothing = expand(snapshot, reader(snapshot), "billing/invoice.py", ["InvoiceCalculator"], budget=5)
    assert nothing["blocks"] == [] and nothing["truncated"]
    assert "nothing fits" in render_expansion(nothing)


def test_expand_symbols_and_ranges(snapshot: Snapshot) -> None:
    both = expand(
        snapshot, reader(snapshot), "billing/invoice.py", ["subtotal", "total"], start_line=1, end_line=2
    )
    assert [(b["name"], b["kind"]) for b in both["blocks"]] == [
        ("InvoiceCalculator.subtotal", "method"),
        ("InvoiceCalculator.total", "method"),
        ("", "lines"),
    ]
    open_end = expand(snapshot, reader(snapshot), "billing/tax.py", start_line=6)
    assert open_end["blocks"][0]["end_line"] == snapshot.files["billing/tax.py"].lines
    with pytest.raises(LookupFailed, match="has only"):
        expand(snapshot, reader(snapshot), "billing/tax.py", start_line=500)
    with pytest.raises(LookupFailed, match="not inside the workspace"):
        expand(snapshot, reader(snapshot), "/etc/passwd", start_line=1)
    with pytest.raises(LookupFailed, match=r"defines no 'Tax\.tax_for'"):
        expand(snapshot, reader(snapshot), "billing/tax.py", ["Tax.tax_for"])


def test_find_symbol(snapshot: Snapshot) -> None:
    method = find_symbol(snapshot, "InvoiceCalculator.apply_discount")
    assert [(d["path"], d["start_line"], d["end_line"]) for d in method["definitions"]] == [
        ("billing/invoice.py", 15, 17)
    ]
    assert find_symbol(snapshot, "Other.apply_discount")["definitions"] == []
    unknown = find_symbol(snapshot, "tax_four")
    assert unknown["definitions"] == unknown["references"] == [] and "tax_for" in unknown["suggestions"]
    with pytest.raises(LookupFailed):
        find_symbol(snapshot, "  ")
