"""The direction of dependencies: the pure pipeline apart from I/O, the adapters on top."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "rtk_lsp"
HEAVY = ("sqlite3", "tree_sitter", "multiprocessing", "aiohttp", "git", "pygls")


def loaded_after_import(module: str) -> set[str]:
    """Top-level names of the modules a fresh interpreter has loaded after importing `module`."""
    code = f"import json, sys; import {module}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return {name.split(".")[0] for name in json.loads(out)}


def test_the_pipeline_loads_no_parser_database_process_pool_server_or_git() -> None:
    loaded = loaded_after_import("rtk_lsp.plan.pipeline")
    assert "rtk_lsp" in loaded
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def test_discovery_is_a_standard_library_client() -> None:
    loaded = loaded_after_import("rtk_lsp.server.discovery")
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def imports_of(path: Path) -> set[str]:
    """The rtk_lsp modules a source file imports, anywhere in it."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("rtk_lsp")}


def modules_under(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).rglob("*.py"))


def existing(names: set[str]) -> set[str]:
    """Import targets that are modules or packages (not names imported from them)."""
    out = set()
    for name in names:
        parts = name.split(".")[1:]
        base = PACKAGE.joinpath(*parts)
        if base.with_suffix(".py").exists() or (base / "__init__.py").exists():
            out.add(name)
    return out


@pytest.mark.parametrize("path", modules_under("plan"), ids=lambda p: p.name)
def test_the_plan_reads_the_index_through_the_snapshot_only(path: Path) -> None:
    index = {m for m in existing(imports_of(path)) if m.startswith("rtk_lsp.index")}
    assert index <= {"rtk_lsp.index.snapshot"}, index
    above = {m for m in imports_of(path) if m.startswith(("rtk_lsp.server", "rtk_lsp.engine", "rtk_lsp.cli"))}
    assert not above, above


@pytest.mark.parametrize("path", modules_under("index"), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_index_imports_nothing_above_it(path: Path) -> None:
    above = ("rtk_lsp.plan", "rtk_lsp.server", "rtk_lsp.engine", "rtk_lsp.cli", "rtk_lsp.hook")
    assert not {m for m in imports_of(path) if m.startswith(above)}


def test_the_snapshot_module_is_in_memory_only() -> None:
    # what it imports from the index: the in-memory structures, never the I/O side
    io_side = {"scan", "analyze", "store", "workspace", "history"}
    imported = {
        m.split(".")[2] for m in existing(imports_of(PACKAGE / "index" / "snapshot.py")) if m.count(".") >= 2
    }
    assert imported.isdisjoint(io_side), imported & io_side


def test_discovery_and_the_hook_import_no_store_engine_or_server() -> None:
    for name in ("server/discovery.py", "hook.py"):
        heavy = {
            m
            for m in imports_of(PACKAGE / name)
            if m.startswith(("rtk_lsp.index", "rtk_lsp.engine", "rtk_lsp.server.http", "rtk_lsp.server.lsp"))
            # the episode log, which the hook writes after the agent's reads and edits, is not the index
            and not m.startswith("rtk_lsp.index.episodes")
        }
        assert not heavy, (name, heavy)
    # ... and it stays light: the standard library, the paths helper and the SQLite file rules it
    # shares with the store, nothing of the index (whose package __init__ must stay empty of it)
    light = {"rtk_lsp.paths", "rtk_lsp.index.dbfile"}
    for name in ("index/episodes.py", "index/dbfile.py", "paths.py"):
        ours = existing(imports_of(PACKAGE / name)) - {"rtk_lsp", "rtk_lsp.index"}
        assert ours <= light, (name, ours - light)
    assert not imports_of(PACKAGE / "index" / "__init__.py")


@pytest.mark.parametrize("path", modules_under("server"), ids=lambda p: p.name)
def test_the_doors_do_not_import_the_hook(path: Path) -> None:
    # `install-hook` is the command line's; the hook is a client of the doors, not part of them
    assert "rtk_lsp.hook" not in imports_of(path)


def test_dependencies_are_plain_imports() -> None:
    # A dependency named in a string, or one that may be missing, hides what the code needs.
    # The one exception: GitPython refuses to import where no git binary runs (no history then).
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text()
        assert "import_module(" not in text and "__import__(" not in text, path
        if path.name != "history.py":
            assert "except ImportError" not in text and "ModuleNotFoundError" not in text, path


def runtime_imports(path: Path) -> set[str]:
    """The rtk_lsp modules a source file imports when it runs (imports for type checkers left out)."""
    tree = ast.parse(path.read_text())
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for inner in ast.walk(node)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = {f"{node.module}.{alias.name}" for alias in node.names}
            found |= existing(names) or {node.module}
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return existing({name for name in found if name.startswith("rtk_lsp")})


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_no_module_imports_itself_back() -> None:
    # A cycle, even through an import inside a function, makes the order modules load in matter
    # and hides which layer owns what.
    graph = {module_name(path): runtime_imports(path) for path in PACKAGE.rglob("*.py")}
    for start in graph:
        seen: set[str] = set()
        todo = [m for m in graph[start] if m != start]
        while todo:
            module = todo.pop()
            assert module != start, f"{start} imports itself back"
            if module not in seen:
                seen.add(module)
                todo.extend(graph.get(module, ()))
