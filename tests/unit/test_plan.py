"""The pure plan pipeline: intent, signals, weights, budget assembly, determinism."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pytest
from gitrepo import GitRepo

from rtk_lsp.index.snapshot import Lookups, Snapshot
from rtk_lsp.index.workspace import Workspace
from rtk_lsp.plan import weights as W
from rtk_lsp.plan.intent import parse_intent
from rtk_lsp.plan.pipeline import plan
from rtk_lsp.plan.rank import build_query
from rtk_lsp.plan.request import PlanRequest, RequestError, plan_request_from_json
from rtk_lsp.plan.result import Detail, Plan, to_json
from rtk_lsp.planning import build_snapshot, plan_root, plan_snapshot
from rtk_lsp.settings import Settings
from rtk_lsp.text import stem, term_counts, terms
from rtk_lsp.tokens import estimate_tokens


@pytest.fixture
def snapshot(shop: GitRepo) -> Snapshot:
    return build_snapshot(str(shop.root), Settings())


# ---- intent -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("task", "kind"),
    [
        ("Fix crash when the config file is missing", "bugfix"),
        ("Add support for YAML config files", "feature"),
        ("Refactor: extract the retry loop into a helper", "refactor"),
        ("Add tests for the tokenizer", "test"),
        ("Document the plugin API in the README", "docs"),
        ("Speed up the slow index rebuild", "performance"),
        ("Release 2.3.1", "other"),
        ("update the address book", "other"),  # "add" inside "address" is not a cue
    ],
)
def test_intent_kind(task: str, kind: str) -> None:
    assert parse_intent(task).kind == kind


def test_intent_extracts_identifiers_paths_errors_and_keywords() -> None:
    i = parse_intent(
        "Fix `Session.rebuild_proxies` in src/requests/sessions.py: raises KeyError: 'proxy' "
        'when parseHTTPHeader sees "no proxy configured here"'
    )
    assert "Session.rebuild_proxies" in i.identifiers
    assert "parseHTTPHeader" in i.identifiers
    assert "src/requests/sessions.py" in i.paths
    assert any(e.startswith("KeyError") for e in i.errors)
    assert "no proxy configured here" in i.errors
    # the task's own words, names split, stop words and task verbs out
    assert {"rebuild", "proxies", "parse", "http", "header", "session", "configured"} <= set(i.keywords)
    assert "fix" not in i.keywords and "the" not in i.keywords and "when" not in i.keywords


def test_keywords_are_the_tasks_words_and_ranking_stems_them() -> None:
    # People are shown what they wrote, never a stem ("matrice", "anyth")...
    i = parse_intent("Why does anything break when matrices are multiplied in MatrixRounding")
    assert i.keywords == ("does", "anything", "break", "matrices", "multiplied", "matrix", "rounding")
    # ...and the ranking still meets the code on stems: "rounding" finds `round`.
    assert set(build_query(i, "").terms) == {
        "doe",
        "anyth",
        "break",
        "matric",
        "multipli",
        "matrix",
        "round",
    }


def test_term_counts_count_what_terms_lists_in_the_order_it_lists_them() -> None:
    # words start at an ASCII letter and run over letters and digits; all else separates them
    text = (
        "2to3 x1 1x 0x1F 1e10 A1b2C parseHTTPHeader_v2 \u00fcn\u00efcode na\u00efve caf\u00e9s "
        "\u212aelvin \u65e5\u672c\u8a9e Tab\tnew\nline \x00nul \ud800lone a_b__c the THE The 123 4567"
    )
    expected: dict[str, int] = {}
    for t in terms(text):
        expected[t] = expected.get(t, 0) + 1
    got = term_counts(text)
    assert list(got.items()) == list(expected.items())
    assert {"to3", "x1", "e10", "pars", "http", "header", "v2", "elvin", "nul", "lon", "tab"} <= set(got)


def test_a_word_and_its_forms_with_a_silent_e_meet_on_one_term() -> None:
    # "-ing" and "-ed" drop the silent e ("encoding" -> encod); the bare word must too, or a task's
    # `UnicodeEncodeError` never meets a file's `encoding=`
    for forms in (
        ("encode", "encoding", "encoded", "encodes"),
        ("cache", "caches", "cached", "caching"),
        ("parse", "parses", "parsed", "parsing"),
        ("type", "types", "typed", "typing"),
    ):
        assert len({stem(f) for f in forms}) == 1, forms
    assert stem("free") == "free" and stem("use") == "use"  # "ee" is no silent e; three letters stay
    terms = build_query(parse_intent("UnicodeEncodeError on save"), "").terms
    assert set(term_counts("f.write(text, encoding=self.encoding)")) & set(terms) == {"encod"}


def test_intent_is_deterministic() -> None:
    t = "Refactor the cache eviction of LRUCache.get and cache.py"
    assert parse_intent(t) == parse_intent(t)


# ---- weights ----------------------------------------------------------------------------------


def test_weights_are_finite_positive_and_sum_to_one() -> None:
    values = list(W.SIGNAL_WEIGHTS.values())
    assert all(math.isfinite(v) and v > 0 for v in values)
    assert math.isclose(sum(values), 1.0, abs_tol=1e-9)
    assert all(0 < v <= 1 for v in W.STRUCTURE.values())
    assert all(math.isfinite(v) and v > 0 for v in W.FIELD_WEIGHTS.values())


# ---- ranking and signals ----------------------------------------------------------------------


def test_symbol_named_in_task_ranks_its_file_first(snapshot: Snapshot) -> None:
    r = plan(snapshot, PlanRequest("fix the discount rounding in InvoiceCalculator.apply_discount"))
    top = r.selected[0]
    assert top.rel_path == "billing/invoice.py"
    assert any("apply_discount" in reason for reason in top.reasons)
    assert top.features["symbol"] > 0
    names = [s.name for s in top.symbols]
    assert "InvoiceCalculator.apply_discount" in names


def test_graph_signal_brings_in_what_the_match_calls(snapshot: Snapshot) -> None:
    r = plan(snapshot, PlanRequest("invoice total is wrong for InvoiceCalculator"))
    by_path = {f.rel_path: f for f in r.selected}
    assert "billing/tax.py" in by_path
    assert by_path["billing/tax.py"].features["graph"] > 0
    assert any("invoice.py" in reason for reason in by_path["billing/tax.py"].reasons)


def test_cochange_and_churn_come_from_history(shop: GitRepo) -> None:
    for i in range(6):
        shop.commit(
            f"pricing tweak {i}",
            {
                "billing/invoice.py": (shop.root / "billing/invoice.py").read_text() + f"\n# {i}\n",
                "users/profile.py": (shop.root / "users/profile.py").read_text() + f"\n# {i}\n",
            },
        )
    r = plan_root(str(shop.root), PlanRequest("apply_discount rounding"))
    feats = {f.rel_path: f for f in r.selected}
    assert feats["users/profile.py"].features["cochange"] > 0
    assert any("changed with `billing/invoice.py`" in x for x in feats["users/profile.py"].reasons)
    assert feats["billing/invoice.py"].features["churn"] == 1.0


def test_tests_are_down_weighted_unless_the_task_is_about_tests(shop: GitRepo) -> None:
    shop.commit(
        "tests",
        {
            "tests/test_invoice.py": "from billing.invoice import InvoiceCalculator\n\n"
            "def test_apply_discount():\n    assert InvoiceCalculator([]).apply_discount(10) == 0\n"
        },
    )
    snap = build_snapshot(str(shop.root), Settings())
    fix = plan(snap, PlanRequest("apply_discount rounds wrong"))
    assert fix.ranked[0].rel_path == "billing/invoice.py"
    feats = {f.rel_path: f.features for f in fix.selected}
    assert feats["tests/test_invoice.py"]["structure"] < 1
    test = plan(snap, PlanRequest("add tests for apply_discount"))
    feats = {f.rel_path: f.features for f in test.selected}
    assert feats["tests/test_invoice.py"]["structure"] == 1


# ---- budget -----------------------------------------------------------------------------------


@pytest.mark.parametrize("detail", ["paths", "symbols", "content"])
@pytest.mark.parametrize("budget", [1, 30, 120, 400, 4000])
def test_never_over_budget_and_counts_what_is_emitted(
    snapshot: Snapshot, detail: Detail, budget: int
) -> None:
    r = plan_snapshot(snapshot, PlanRequest("InvoiceCalculator apply_discount tax", budget, detail))
    br = r.budget_report
    assert br.estimated_used <= budget
    assert br.candidates_selected == len(r.selected)
    if detail != "paths":
        # the context is what is emitted, and it is what was counted
        assert estimate_tokens(r.context) <= br.estimated_used + len(r.selected) + 1
    assert sum(f.estimated_tokens for f in r.selected) <= br.estimated_used
    if budget >= 400:
        assert r.selected
    if detail == "content" and budget >= 400:
        assert "```" in (r.selected[0].content or "")
    assert all((f.content is not None) == (detail == "content") for f in r.selected)


def test_dropped_files_say_why(snapshot: Snapshot) -> None:
    r = plan(snapshot, PlanRequest("InvoiceCalculator apply_discount tax profile strings", 80, "symbols"))
    assert r.dropped
    assert all(d.reason for d in r.dropped)
    assert {d.rel_path for d in r.dropped}.isdisjoint(f.rel_path for f in r.selected)


def without_timings(result: Plan) -> dict[str, Any]:
    data: dict[str, Any] = to_json(result)
    data["stats"].pop("elapsed_ms")
    return data


def test_same_input_same_output(snapshot: Snapshot) -> None:
    req = PlanRequest("fix the tax rate for the US region", 500, "symbols")
    a, b = plan(snapshot, req), plan(snapshot, req)
    assert json.dumps(without_timings(a), sort_keys=True) == json.dumps(without_timings(b), sort_keys=True)


def test_golden_plan_json(tmp_path: Path) -> None:
    """The full JSON of a plan on a fixed repository; regenerate with RTK_UPDATE_GOLDEN=1."""
    repo = GitRepo(tmp_path / "golden")
    repo.commit(
        "start",
        {
            "shop/cart.py": "from shop.price import unit_price\n\n\nclass Cart:\n    def add_item(self, sku):\n        return unit_price(sku)\n",
            "shop/price.py": 'def unit_price(sku):\n    """Price of one unit."""\n    return 1\n',
            "docs/notes.md": "# Notes\nThe cart adds items.\n",
        },
    )
    snap = build_snapshot(str(repo.root), Settings(), use_store=False)
    result = without_timings(
        plan_snapshot(snap, PlanRequest("Cart.add_item charges the wrong unit price", 600))
    )
    result["root"] = "<root>"
    result["stats"]["history_head"] = "<head>"
    golden = Path(__file__).parents[1] / "golden" / "plan_cart.json"
    text = json.dumps(result, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if os.environ.get("RTK_UPDATE_GOLDEN"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(text)
    assert text == golden.read_text()


# ---- request validation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({}, "task"),
        ({"task": ""}, "task"),
        ({"task": 3}, "task"),
        ({"task": "x", "budget": -5}, "budget"),
        ({"task": "x", "budget": "many"}, "budget"),
        ({"task": "x", "budget": 1.5}, "budget"),
        ({"task": "x", "detail": "everything"}, "detail"),
    ],
)
def test_request_validation_names_the_field(raw: dict[str, object], field: str) -> None:
    with pytest.raises(RequestError) as e:
        plan_request_from_json(raw)
    assert e.value.field == field


@pytest.mark.parametrize("field", ["budget", "token_budget"])
def test_a_zero_budget_means_the_default_in_every_door(field: str) -> None:
    assert plan_request_from_json({"task": "x", field: 0}, 1234, field).budget == 1234
    assert plan_request_from_json({"task": "x"}, 1234, field).budget == 1234
    assert plan_request_from_json({"task": "x", field: 7}, 1234, field).budget == 7
    with pytest.raises(RequestError, match="must be 0 \\(the default\\) or positive, got -1"):
        plan_request_from_json({"task": "x", field: -1}, 1234, field)


def test_per_snapshot_lookups_update_to_what_a_fresh_build_gives(shop: GitRepo, tmp_path: Path) -> None:
    ws = Workspace(str(shop.root), Settings(), use_store=False)
    first = ws.refresh()
    shop.write(
        "billing/tax.py",
        'def vat_rate(region):\n    if not region:\n        raise ValueError("no region to take the VAT rate of")\n'
        "    return 0.2\n\n\nclass TaxTable:\n    pass\n",
    )
    shop.write("reports/monthly_report.py", "def build_monthly_report():\n    pass\n")
    (shop.root / "users/profile.py").unlink()
    second = ws.refresh()
    patched = Lookups(first.files).updated(first.files, second.files)
    fresh = Lookups(second.files)
    for attr in ("text", "classes", "multi_word", "one_word", "by_stem", "by_dir", "literal_words"):
        assert getattr(patched, attr) == getattr(fresh, attr), attr
    assert "users/profile.py" not in patched.text
    # the one file with a literal now, found by each word of its literal (numbers and letters are not words)
    assert {p for ps in patched.literal_words.values() for p in ps} == {"billing/tax.py"}
    assert sorted(patched.literal_words) == ["no", "of", "rate", "region", "take", "the", "to", "vat"]
    assert [e[0] for e in patched.multi_word["vat"]] == ["billing/tax.py"]
