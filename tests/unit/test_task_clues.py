"""How separate clues of a task add up: quoted messages, printed lines, and the file names it uses."""

from __future__ import annotations

from pathlib import Path

import pytest
from gitrepo import GitRepo

from rtk_lsp.index.snapshot import Snapshot
from rtk_lsp.plan import weights as W
from rtk_lsp.plan.intent import parse_intent
from rtk_lsp.plan.pipeline import plan
from rtk_lsp.plan.rank import build_query, path_matches
from rtk_lsp.plan.request import PlanRequest
from rtk_lsp.plan.result import to_json
from rtk_lsp.plan.task import read_task
from rtk_lsp.planning import build_snapshot
from rtk_lsp.settings import Settings

SHOP = {
    "shop/__init__.py": '"""A small shop."""\n',
    "shop/checkout.py": (
        "def check(order):\n"
        "    if not order.address:\n"
        '        raise ValueError("no shipping address")\n'
        "    if order.coupon_used:\n"
        '        raise ValueError("coupon already redeemed")\n'
    ),
    "shop/display.py": (
        "def show(cart):\n"
        '    lines = ["Cart contents:"]\n'
        "    for item in cart:\n"
        '        lines.append(f"    {item.name} x{item.count}")\n'
        "    return lines\n"
    ),
    "shop/frame.py": ('def summary(table):\n    out = ["Dimensions:", str(table.shape)]\n    return out\n'),
    "shop/money.py": "def round_cents(value):\n    return round(value, 2)\n",
}


@pytest.fixture
def shop(tmp_path: Path) -> Snapshot:
    repo = GitRepo(tmp_path / "shop")
    files = dict(SHOP)
    # a file name that many packages have says nothing about which of them a task means
    for i in range(W.MAX_WORD_NAME_FILES + 1):
        files[f"shop/part{i}/__init__.py"] = f'"""Part {i}."""\n'
        files[f"shop/part{i}/utils.py"] = f"def helper{i}(x):\n    return x + {i}\n"
    repo.commit("shop: checkout, display, money", files)
    return build_snapshot(str(repo.root), Settings())


def feature(snap: Snapshot, task: str, path: str, name: str) -> float:
    result = to_json(plan(snap, PlanRequest(task)))
    for entry in result["selected"]:
        if entry["rel_path"] == path:
            return float(entry["features"].get(name, 0.0))
    return 0.0


def test_separate_quoted_messages_in_one_file_add_up_as_independent_clues(shop: Snapshot) -> None:
    one = feature(shop, 'Checkout fails with "no shipping address"', "shop/checkout.py", "literal")
    other = feature(shop, 'Checkout fails with "coupon already redeemed"', "shop/checkout.py", "literal")
    both = feature(
        shop,
        'Checkout fails with "no shipping address" and then "coupon already redeemed"',
        "shop/checkout.py",
        "literal",
    )
    assert 0 < one < 1 and 0 < other < 1
    # two clues that agree are better evidence than one: 1-(1-a)(1-b), not the stronger plus a little
    assert both == pytest.approx(1 - (1 - one) * (1 - other), abs=0.01)
    assert both > max(one, other) + W.EXTRA_HIT * min(one, other) + 0.05


def test_a_heading_literal_matches_only_a_line_that_starts_with_it_as_printed(shop: Snapshot) -> None:
    printed = "The cart shows\n\n```\nCart contents:\n    apple x2\n```\n"
    assert feature(shop, printed, "shop/display.py", "literal") == W.HEADING_HIT
    # the same words inside a sentence are not the heading the program printed
    prose_like = "The cart is wrong\n\n```\nCart contents are missing the apples\n```\n"
    assert "Cart contents are missing the apples" in read_task(prose_like).messages
    assert feature(shop, prose_like, "shop/display.py", "literal") == 0.0


def test_a_labelled_output_line_is_a_message(shop: Snapshot) -> None:
    task = "The summary is off\n\n```\n>>> summary(t)\nDimensions:  (x: 3)\n```\n"
    assert "Dimensions:  (x: 3)" in read_task(task).messages
    assert feature(shop, task, "shop/frame.py", "literal") == W.HEADING_HIT


def matches(snap: Snapshot, task: str) -> dict[str, tuple[float, str]]:
    parts = read_task(task)
    intent = parse_intent(parts.words)
    query = build_query(intent, parts.words, parts.code_words, parts.title, parts.condensed)
    return path_matches(snap.lookups, intent, query)


def test_a_file_name_many_files_share_is_not_a_word_naming_a_file(shop: Snapshot) -> None:
    found = matches(shop, "Rounding in the money utils is wrong")
    assert found["shop/money.py"][1] == "file name `money.py` is a word of the task"
    assert not [p for p in found if p.endswith("/utils.py")]


def named(found: dict[str, tuple[float, str]]) -> list[str]:
    return sorted(p for p, (_, why) in found.items() if why.startswith("the task names"))


def test_a_bare_path_that_fits_dozens_of_files_names_none_of_them(shop: Snapshot) -> None:
    assert named(matches(shop, "The docstring in `__init__.py` is stale")) == []
    # a path that says which one still names it
    assert named(matches(shop, "The docstring in `shop/part3/__init__.py` is stale")) == [
        "shop/part3/__init__.py"
    ]


def test_a_message_of_common_words_is_found_among_many_files_that_use_them(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "opts")
    # source files use the message's words in code and in other strings, and the docs use them
    # more: neither may crowd out the one file that holds the message
    files = {
        f"opts/a{i:02d}.py": (
            f"# an invalid value for option {i}\n"
            f"def option_{i}(value):\n    return value or 'option {i} has a value'\n"
        )
        for i in range(W.LITERAL_FILES - 4)
    }
    files |= {f"docs/d{i:03d}.md": "An invalid value for an option is an error.\n" for i in range(120)}
    files["opts/parse.py"] = 'def parse(v):\n    raise ValueError("invalid value for option")\n'
    repo.commit("opts", files)
    snap = build_snapshot(str(repo.root), Settings())
    task = 'Parsing says "invalid value for option" for a valid one'
    assert feature(snap, task, "opts/parse.py", "literal") > 0


def test_a_message_is_looked_up_in_the_literals_not_in_the_code_that_uses_its_words(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "opts")
    # more source files than a message's search reads use its words in names and comments, and have
    # string literals of their own; they all come before the one file that prints it
    files = {
        f"opts/a{i:02d}.py": f"# invalid value for option {i}\ndef invalid_option_value_{i}(v):\n    return 'x{i}'\n"
        for i in range(2 * W.LITERAL_FILES)
    }
    files["opts/zz.py"] = 'def check(v):\n    raise ValueError("invalid value for option")\n'
    repo.commit("opts", files)
    snap = build_snapshot(str(repo.root), Settings())
    assert snap.lookups.literal_words["invalid"] == ["opts/zz.py"]
    task = 'Checking says "invalid value for option" for a valid one'
    assert feature(snap, task, "opts/zz.py", "literal") > 0
