"""Reading a task by its parts (rtk_lsp.plan.task) and what each part does to a plan."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from gitrepo import make_tracker_repo

from rtk_lsp.index.snapshot import Snapshot
from rtk_lsp.plan import confidence
from rtk_lsp.plan.pipeline import plan
from rtk_lsp.plan.request import PlanRequest
from rtk_lsp.plan.result import to_json
from rtk_lsp.plan.task import MAX_FRAMES, MAX_READ_CHARS, read_task
from rtk_lsp.planning import build_snapshot
from rtk_lsp.settings import Settings

# ---- the reader ---------------------------------------------------------------------------------

PY_TRACEBACK = """\
PolyFit fails on missing data

```python
import tracker as tk
data = tk.load_table("t.csv")
tk.PolyFit(order=2)(data)
```

```
Traceback (most recent call last):
  File "/home/me/run.py", line 3, in <module>
    tk.PolyFit(order=2)(data)
  File "/home/me/.venv/lib/python3.11/site-packages/tracker/stats/regression.py", line 9, in __call__
    return self._fit_predict(data)
  File "/home/me/.venv/lib/python3.11/site-packages/tracker/stats/regression.py", line 13, in _fit_predict
    raise ValueError("order too high for the data")
ValueError: order too high for the data
```
"""


def test_python_traceback_frames_nearest_the_error_first() -> None:
    parts = read_task(PY_TRACEBACK)
    frames = [(f.path.rsplit("/", 1)[-1], f.line, f.function, f.depth) for f in parts.frames]
    assert frames == [
        ("regression.py", 13, "_fit_predict", 0),
        ("regression.py", 9, "__call__", 1),
        ("run.py", 3, "", 2),  # `<module>` names no function
    ]
    assert parts.errors == ("order too high for the data",)  # a builtin exception's class says nothing
    assert "order too high for the data" in parts.messages
    # the traceback and the code stay out of the prose
    assert "site-packages" not in parts.prose and "load_table" not in parts.prose
    assert parts.title == "PolyFit fails on missing data"


def test_code_names_calls_constructs_and_imports_but_not_locals_or_builtins() -> None:
    parts = read_task(PY_TRACEBACK)
    names = {(n.name, n.qualifier, n.how) for n in parts.names}
    assert ("load_table", "tracker", "call") in names  # `tk` is `import tracker as tk`
    assert ("PolyFit", "tracker", "construct") in names
    assert not {n.name for n in parts.names} & {"data", "print", "len"}
    assert parts.modules == ("tracker",)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # IPython 8
        ("File ~/code/seaborn/seaborn/_stats/regression.py:41, in PolyFit.__call__(self, data)\n",
         [("~/code/seaborn/seaborn/_stats/regression.py", 41, "PolyFit.__call__")]),
        # IPython 7, with a Markdown link around the path
        ("[c:\\Users\\k\\lib\\site-packages\\seaborn\\axisgrid.py](file:///C:/x.py) in map_diag(self, func)\n",
         [("c:/Users/k/lib/site-packages/seaborn/axisgrid.py", 0, "map_diag")]),
        # JavaScript: the frame nearest the error comes first
        ("TypeError: x is undefined\n    at Router.handle (/app/node_modules/express/lib/router/index.js:174:3)\n"
         "    at next (/app/node_modules/express/lib/router/route.js:137:13)\n",
         [("/app/node_modules/express/lib/router/index.js", 174, "Router.handle"),
          ("/app/node_modules/express/lib/router/route.js", 137, "next")]),
        # Rust
        ("thread 'main' panicked at src/search.rs:10:5:\nindex out of bounds\n", [("src/search.rs", 10, "")]),
        # Go
        ("panic: runtime error\n\ngoroutine 1 [running]:\nmain.run(...)\n\t/home/u/cobra/command.go:12 +0x1d\n",
         [("/home/u/cobra/command.go", 12, "")]),
        # Java: the package and the file name make the path
        ("Exception in thread \"main\" java.lang.NullPointerException\n"
         "\tat com.acme.shop.Cart.total(Cart.java:42)\n",
         [("com/acme/shop/Cart.java", 42, "Cart.total")]),
    ],
)  # fmt: skip
def test_stack_trace_formats(text: str, expected: list[tuple[str, int, str]]) -> None:
    got = [(f.path, f.line, f.function) for f in read_task("A crash\n\n" + text).frames]
    assert got == expected


def test_messages_options_codes_and_a_located_file_in_prose() -> None:
    parts = read_task(
        'pylint ignores "--notes" tags\n\nRunning `pylint test.py --notes="YES,???"` prints\n\n'
        "```\ntest.py:1:1: W0511: YES: yes (fixme)\n```\n\n"
        "The problem is in `jsonrep.py` at line 227.\n\n"
        "```ini\n[tool.pylint]\nignore-paths = ['^gen/']\n```\n"
    )
    assert "--notes" in parts.options and "ignore-paths" in parts.options
    assert "W0511" in parts.codes
    assert ("jsonrep.py", 227, "prose") in [(f.path, f.line, f.source) for f in parts.frames]
    # a settings block is data: its keys are options, not names the snippet calls
    assert not [n for n in parts.names if n.name == "tool"]


def test_environment_reports_are_not_prose() -> None:
    parts = read_task(
        "Concat drops variables\n\nIt drops them.\n\n"
        "INSTALLED VERSIONS\n------------------\npython: 3.8.3\nxarray: 0.16.0\npandas: 1.0.5\nnumpy: 1.18.5\n"
        "netCDF4: None\n\nThanks!"
    )
    assert "netCDF4" not in parts.prose and "pandas" not in parts.prose
    assert "drops them" in parts.prose and "Thanks" in parts.prose


def test_a_report_of_packages_and_their_versions_is_not_prose() -> None:
    # no separator between a package and its version: `python 3.7.12`, `sqlfluff, version 0.7.0`
    parts = read_task(
        "fix wipes the file\n\nThe file is empty afterwards.\n\n## Version\n"
        "`python 3.7.12`\n`sqlfluff 0.7.0`\n- sqlfluff-templater-dbt, version 0.7.0\n\n"
        "Upgraded to 0.7 since then.\nIt fails in 3 of 4 runs.\n"
    )
    assert "python" not in parts.prose and "templater" not in parts.prose
    # a sentence that mentions a version is prose, and so is one line of a package and its version
    assert "Upgraded to 0.7" in parts.prose and "fails in 3 of 4" in parts.prose
    assert "numpy" in read_task("Casting fails\n\nnumpy 1.24.1\n\nThe cast raises.").prose


def test_a_long_task_is_condensed_to_its_head_and_tail() -> None:
    log = "".join(f"step {i}: still waiting for the queue to drain\n" for i in range(40_000))
    tail = (
        "Traceback (most recent call last):\n"
        + "".join(f'  File "/srv/app/pkg/mod{i}.py", line {i}, in f{i}\n    x()\n' for i in range(200))
        + "RuntimeError: the final error\n"
    )
    task = "Queue hangs\n\n" + log + tail
    assert len(task) > 1_000_000
    started = time.perf_counter()
    parts = read_task(task)
    assert time.perf_counter() - started < 5  # a hang guard, not a speed target (bench/long_task.py)
    assert parts.condensed and parts.chars == len(task)
    assert parts.title == "Queue hangs"
    assert "the final error" in parts.errors
    assert len(parts.frames) <= 2 * MAX_FRAMES
    assert parts.frames[0].path == "/srv/app/pkg/mod199.py"  # the tail, nearest the error, is kept
    assert len(parts.prose) <= MAX_READ_CHARS


# ---- what the parts do to a plan ----------------------------------------------------------------


@pytest.fixture
def tracker(tmp_path: Path) -> Snapshot:
    return build_snapshot(str(make_tracker_repo(tmp_path / "tracker").root), Settings())


def planned(snap: Snapshot, task: str) -> Any:
    """The plan as JSON, as every door returns it."""
    return to_json(plan(snap, PlanRequest(task)))


def top(snap: Snapshot, task: str) -> Any:
    result = planned(snap, task)
    assert result["selected"], result["verdict"]
    return result["selected"][0]


def test_a_traceback_through_an_installed_copy_names_the_workspace_file_and_function(
    tracker: Snapshot,
) -> None:
    first = top(tracker, "It breaks\n\n" + PY_TRACEBACK.split("```\n", 2)[-1])
    assert first["rel_path"] == "tracker/stats/regression.py"
    assert first["features"]["traceback"] == 1.0
    assert (
        "in the traceback: `tracker/stats/regression.py` line 13 in `PolyFit._fit_predict`"
        in first["reasons"]
    )
    assert "PolyFit._fit_predict" in [s["name"] for s in first["symbols"]]


def test_a_snippet_call_resolves_to_its_definition(tracker: Snapshot) -> None:
    first = top(
        tracker, "Fitting goes wrong\n\n```python\nimport tracker as tk\nfit = tk.PolyFit(order=5)\n```\n"
    )
    assert first["rel_path"] == "tracker/stats/regression.py"
    assert "defines `PolyFit`, constructed in the task's code" in first["reasons"]


def test_a_quoted_message_is_found_in_a_string_literal(tracker: Snapshot) -> None:
    first = top(tracker, "Loading stops with \"Unrecognized table line: 'x' in data.txt\"")
    assert first["rel_path"] == "tracker/io/loader.py"
    assert first["features"]["literal"] > 0
    assert any("Unrecognized table line" in r for r in first["reasons"])


def test_an_option_is_found_in_a_string_literal(tracker: Snapshot) -> None:
    first = top(tracker, "`tracker --skip-blank` still stops on empty lines")
    assert first["rel_path"] == "tracker/cli.py"
    assert "defines the option `--skip-blank` the task passes" in first["reasons"]


def test_an_off_topic_task_selects_nothing_and_says_so(tracker: Snapshot) -> None:
    result = planned(tracker, "Add a loyalty-points page to the mobile app")
    assert result["confidence"] < confidence.FLOOR
    assert result["selected"] == [] and result["budget_report"]["estimated_used"] <= 100
    assert result["verdict"].startswith("nothing in this workspace matches the task")
    assert result["verdict"] in result["context"]
    assert result["ranked"], "the ranking is still there for whoever wants it"


def test_confidence_is_high_with_direct_evidence_and_in_range(tracker: Snapshot) -> None:
    sure = planned(tracker, PY_TRACEBACK)
    assert sure["confidence"] == 1.0 and sure["verdict"].startswith("matched: ")
    for task in ("summary of the fitted rows", "fix it", "x"):
        value = planned(tracker, task)["confidence"]
        assert 0.0 <= value <= 1.0
