"""The MCP server: the official SDK's client against `rtk-lsp mcp` (stdio) and against `/mcp` on
the HTTP door (streamable HTTP, from `rtk-lsp serve` and from the language server), and the
MCP Inspector's command-line mode as a second, independent client.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import jsonschema
import pytest
from gitrepo import GitRepo, held_git
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult, ListRootsResult, Root
from servers import MODES, START_TIMEOUT, TASK, ServeFactory, call, make_env

from rtk_lsp.server.mcp.tools import plan_schema

TOOLS = {"plan_context", "expand", "find_symbol", "workspace_status", "report_outcome"}
CALL_TIMEOUT = 120  # a hang guard only


def text(result: CallToolResult) -> str:
    return "".join(getattr(block, "text", "") for block in result.content)


@contextlib.asynccontextmanager
async def stdio_session(
    tmp_path: Path,
    env: dict[str, str],
    *args: str,
    cwd: Path | None = None,
    roots: list[Path] | None = None,
) -> AsyncIterator[ClientSession]:
    """A real `rtk-lsp mcp` process and an initialized SDK client session on its stdio."""
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "rtk_lsp", "mcp", *args], env=env, cwd=cwd or tmp_path
    )

    async def list_roots(_context: Any) -> ListRootsResult:
        return ListRootsResult(roots=[Root(uri=p.resolve().as_uri(), name=p.name) for p in roots or []])

    with open(tmp_path / f"mcp-{time.monotonic_ns()}.err", "w") as errlog:
        async with (
            stdio_client(params, errlog=errlog) as (read, write),
            ClientSession(
                read, write, list_roots_callback=list_roots if roots is not None else None
            ) as session,
        ):
            await asyncio.wait_for(session.initialize(), START_TIMEOUT)
            yield session


async def call_tool(session: ClientSession, name: str, args: dict[str, Any], **kw: Any) -> CallToolResult:
    return await asyncio.wait_for(session.call_tool(name, args, **kw), CALL_TIMEOUT)


async def check_tools(session: ClientSession, root: Path) -> None:
    """What every transport must answer, on the billing repository of `gitrepo`."""
    listed = await asyncio.wait_for(session.list_tools(), CALL_TIMEOUT)
    tools = {t.name: t for t in listed.tools}
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert len(tool.description or "") > 80, f"{tool.name} needs a description a model can choose by"
        assert tool.input_schema["type"] == "object" and tool.output_schema is not None
        jsonschema.Draft202012Validator.check_schema(tool.input_schema)
        jsonschema.Draft202012Validator.check_schema(tool.output_schema)
    assert tools["plan_context"].input_schema["required"] == ["task"]
    assert set(tools["plan_context"].input_schema["properties"]) == {"task", "budget", "detail", "root"}
    assert tools["plan_context"].output_schema == plan_schema()
    assert tools["expand"].input_schema["required"] == ["path"]
    assert tools["find_symbol"].input_schema["required"] == ["name"]
    assert set(tools["report_outcome"].input_schema["properties"]) == {"paths_edited", "paths_read", "root"}
    read_only = {name: tool.annotations.read_only_hint for name, tool in tools.items() if tool.annotations}
    assert read_only == {name: name != "report_outcome" for name in TOOLS}

    plan = await call_tool(session, "plan_context", {"task": TASK, "detail": "content", "budget": 3000})
    assert not plan.is_error, text(plan)
    structured = plan.structured_content
    assert isinstance(structured, dict)
    jsonschema.validate(structured, plan_schema())
    assert structured["selected"][0]["rel_path"] == "billing/invoice.py"
    assert structured["root"] == str(root) and structured["budget_report"]["token_budget"] == 3000
    assert text(plan) == structured["context"] and "## billing/invoice.py" in text(plan)
    default = await call_tool(session, "plan_context", {"task": TASK, "budget": 0})
    assert default.structured_content["budget_report"]["token_budget"] == 4000  # type: ignore[index]
    assert structured["confidence"] == 1.0 and structured["verdict"].startswith("matched: ")

    # a task about something else: no context, and the plan says why
    off = await call_tool(session, "plan_context", {"task": "Add a loyalty-points page to the mobile app"})
    assert not off.is_error and off.structured_content is not None
    jsonschema.validate(off.structured_content, plan_schema())
    assert off.structured_content["selected"] == []
    assert "found nothing" in text(off) and off.structured_content["verdict"] in text(off)

    expanded = await call_tool(
        session, "expand", {"path": "billing/invoice.py", "symbols": ["InvoiceCalculator.apply_discount"]}
    )
    assert not expanded.is_error, text(expanded)
    assert "def apply_discount(self, pct):" in text(expanded)
    assert "def total" not in text(expanded)  # that symbol only, not the file
    [block] = expanded.structured_content["blocks"]  # type: ignore[index]
    assert block["name"] == "InvoiceCalculator.apply_discount" and block["kind"] == "method"
    zero = await call_tool(session, "expand", {"path": "billing/tax.py", "start_line": 6, "budget": 0})
    assert zero.structured_content["budget"] == 2000  # type: ignore[index]  # 0 means the default

    lines = await call_tool(
        session, "expand", {"path": str(root / "billing/tax.py"), "start_line": 6, "end_line": 8}
    )
    assert not lines.is_error and "def tax_for(region, amount):" in text(lines)

    found = await call_tool(session, "find_symbol", {"name": "tax_for"})
    assert not found.is_error, text(found)
    result = found.structured_content
    assert isinstance(result, dict)
    assert [(d["path"], d["kind"]) for d in result["definitions"]] == [("billing/tax.py", "function")]
    assert [r["path"] for r in result["references"]] == ["billing/invoice.py"]

    status = await call_tool(session, "workspace_status", {})
    assert not status.is_error
    [folder] = status.structured_content["folders"]  # type: ignore[index]
    assert folder["root"] == str(root) and folder["state"] == "ready" and folder["files"] >= 6

    # What this client did after its plan attaches to that plan, whatever the transport.
    reported = await call_tool(session, "report_outcome", {"paths_edited": ["billing/invoice.py"]})
    assert not reported.is_error, text(reported)
    assert reported.structured_content["attached"] is True, text(reported)  # type: ignore[index]


async def check_bad_arguments(session: ClientSession) -> None:
    """Each bad call is a tool error with a message that names the problem; the next call works."""
    bad: list[tuple[str, dict[str, Any], str]] = [
        ("plan_context", {}, "task: is required"),
        ("plan_context", {"task": "   "}, "task: must not be empty"),
        ("plan_context", {"task": TASK, "budget": -5}, "budget:"),
        ("plan_context", {"task": TASK, "budget": "lots"}, "budget:"),
        ("plan_context", {"task": TASK, "detail": "everything"}, "detail:"),
        ("plan_context", {"task": TASK, "root": "relative/dir"}, "root:"),
        ("plan_context", {"task": TASK, "root": "/nonexistent/rtk-lsp-test"}, "root:"),
        ("expand", {"path": "billing/nope.py", "symbols": ["x"]}, "not an indexed file"),
        ("expand", {"path": "invoice.py", "symbols": ["x"]}, "did you mean billing/invoice.py"),
        ("expand", {"path": "billing/invoice.py", "symbols": ["apply_discont"]}, "apply_discount"),
        ("expand", {"path": "billing/invoice.py"}, "give symbols or a line range"),
        ("expand", {"path": "billing/invoice.py", "start_line": 9, "end_line": 3}, "start_line"),
        ("expand", {"path": "../../etc/passwd", "start_line": 1}, "not an indexed file"),
        ("find_symbol", {"name": ""}, "name:"),
        ("no_such_tool", {}, "no_such_tool"),
    ]
    for name, args, expected in bad:
        try:
            result = await call_tool(session, name, args)
        except MCPError as exc:  # an unknown tool may be a protocol error, depending on the SDK
            assert name == "no_such_tool" and expected in str(exc)
            continue
        assert result.is_error, (name, args, text(result))
        assert expected in text(result), (name, args, text(result))
        again = await call_tool(session, "find_symbol", {"name": "InvoiceCalculator"})
        assert not again.is_error and again.structured_content["definitions"]  # type: ignore[index]
    unknown = await call_tool(session, "find_symbol", {"name": "invoicecalculator"})
    assert not unknown.is_error and "InvoiceCalculator" in unknown.structured_content["suggestions"]  # type: ignore[index]


# ---- stdio ---------------------------------------------------------------------------------------


async def test_stdio_tools(server_env: dict[str, str], shop: GitRepo, tmp_path: Path) -> None:
    async with stdio_session(tmp_path, server_env, "--root", str(shop.root)) as session:
        await check_tools(session, shop.root.resolve())
        await check_bad_arguments(session)


async def test_stdio_stays_warm(server_env: dict[str, str], shop: GitRepo, tmp_path: Path) -> None:
    """The agent's own edits reach the index without a client telling the server."""
    async with stdio_session(tmp_path, server_env, "--root", str(shop.root)) as session:
        before = await call_tool(session, "find_symbol", {"name": "refund_policy"})
        assert before.structured_content["definitions"] == []  # type: ignore[index]
        shop.write("billing/refunds.py", "def refund_policy(order):\n    return order.total() * 0.5\n")
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            found = await call_tool(session, "find_symbol", {"name": "refund_policy"})
            if found.structured_content["definitions"]:  # type: ignore[index]
                break
            assert time.monotonic() < deadline, "the new file never reached the index"
            await asyncio.sleep(0.1)
        assert found.structured_content["definitions"][0]["path"] == "billing/refunds.py"  # type: ignore[index]


async def test_stdio_roots(server_env: dict[str, str], shop: GitRepo, tmp_path: Path) -> None:
    """No --root: the client's roots when it lists them, else the working directory."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    async with stdio_session(tmp_path, server_env, cwd=elsewhere, roots=[shop.root]) as session:
        plan = await call_tool(session, "plan_context", {"task": TASK})
        assert not plan.is_error, text(plan)
        assert plan.structured_content["root"] == str(shop.root.resolve())  # type: ignore[index]
        status = await call_tool(session, "workspace_status", {})
        assert status.structured_content["roots_from"] == "client roots"  # type: ignore[index]

    async with stdio_session(tmp_path, server_env, cwd=shop.root / "billing") as session:
        plan = await call_tool(session, "plan_context", {"task": TASK})
        assert not plan.is_error, text(plan)
        # The working directory is inside the repository: its work tree is the root.
        assert plan.structured_content["root"] == str(shop.root.resolve())  # type: ignore[index]
        status = await call_tool(session, "workspace_status", {})
        assert status.structured_content["roots_from"] == "working directory"  # type: ignore[index]
        inner = await call_tool(session, "plan_context", {"task": TASK, "root": str(shop.root / "billing")})
        assert inner.structured_content["root"] == str(shop.root.resolve())  # type: ignore[index]


async def check_still_indexing(session: ClientSession, gate: Path, root: Path) -> None:
    """While the first index is held back: "still indexing" with progress; once it is let go, plans."""
    progress: list[tuple[float, str | None]] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, message))

    held = await call_tool(session, "plan_context", {"task": TASK}, progress_callback=on_progress)
    assert held.is_error and "still indexing" in text(held), text(held)
    assert progress and all(str(root) in (m or "") for _, m in progress), progress
    status = await call_tool(session, "workspace_status", {})
    assert status.structured_content["folders"][0]["state"] == "indexing"  # type: ignore[index]
    assert "indexing" in text(status)

    gate.touch()
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        status = await call_tool(session, "workspace_status", {})
        if status.structured_content["folders"][0]["state"] == "ready":  # type: ignore[index]
            break
        assert time.monotonic() < deadline, "the first index never finished"
        await asyncio.sleep(0.05)
    plan = await call_tool(session, "plan_context", {"task": TASK})
    assert not plan.is_error and plan.structured_content["selected"][0]["rel_path"] == "billing/invoice.py"  # type: ignore[index]


async def test_stdio_still_indexing(server_env: dict[str, str], shop: GitRepo, tmp_path: Path) -> None:
    gate = held_git(tmp_path, server_env)
    async with stdio_session(
        tmp_path, server_env, "--root", str(shop.root), "--wait-timeout", "1"
    ) as session:
        await check_still_indexing(session, gate, shop.root.resolve())


# ---- streamable HTTP on the door -------------------------------------------------------------------


@contextlib.asynccontextmanager
async def http_session(url: str, token: str | None) -> AsyncIterator[ClientSession]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(CALL_TIMEOUT)) as http,
        streamable_http_client(f"{url}/mcp", http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await asyncio.wait_for(session.initialize(), START_TIMEOUT)
        yield session


@pytest.mark.parametrize("mode", MODES)
async def test_http_tools(http_door: ServeFactory, shop: GitRepo, mode: str, tmp_path: Path) -> None:
    async with http_door(mode, shop.root) as door:
        # Before any session: the door's own checks guard /mcp like every other path.
        initialize = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"},
            },
        }
        accept = {"Accept": "application/json, text/event-stream"}

        async def post(token: str | None, **headers: str) -> Any:
            return await asyncio.to_thread(
                call, door.url, "POST", "/mcp", initialize, token=token, headers={**accept, **headers}
            )

        no_token = await post(None)
        assert no_token.status == 401 and no_token.error["code"] == "unauthorized"
        assert (await post("x" * 43)).status == 401
        foreign = await post(door.token, Host="evil.example:80")
        assert foreign.status == 403 and foreign.error["code"] == "host_not_allowed"
        page = await post(door.token, Origin="http://localhost:3000")
        assert page.status == 403 and page.error["code"] == "origin_not_allowed"
        stream = await asyncio.to_thread(call, door.url, "GET", "/mcp", headers=accept)
        assert stream.status == 401

        await door.wait_ready()
        async with http_session(door.url, door.token) as session:
            await check_tools(session, door.root)
            await check_bad_arguments(session)
            # Several agents share the one warm engine: a second session answers from it too.
            async with http_session(door.url, door.token) as other:
                again = await call_tool(
                    other, "plan_context", {"task": TASK, "detail": "content", "budget": 3000}
                )
                assert again.structured_content["selected"][0]["rel_path"] == "billing/invoice.py"  # type: ignore[index]
        status = (await door.call("GET", "/v1/status")).json()
        assert status["folders"][0]["plans"]["hits"] >= 1, "the second session's plan came from the cache"
        await door.healthy()


async def test_http_still_indexing(
    server_env: dict[str, str], serve: ServeFactory, shop: GitRepo, tmp_path: Path
) -> None:
    gate = held_git(tmp_path, server_env)
    async with (
        serve(shop.root, "--wait-timeout", "1", env=server_env) as door,
        http_session(door.url, door.token) as session,
    ):
        await check_still_indexing(session, gate, door.root)


async def test_http_plans_share_the_bounded_queue(
    server_env: dict[str, str], serve: ServeFactory, shop: GitRepo, tmp_path: Path
) -> None:
    """A plan over MCP holds a place in the door's plan queue; past it, a tool error says to retry."""
    gate = held_git(tmp_path, server_env)
    waiting = asyncio.Event()

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        waiting.set()  # reported from inside the queue, while the first index is held back

    async with (
        serve(shop.root, "--max-pending", "1", "--wait-timeout", "60", env=server_env) as door,
        http_session(door.url, door.token) as first,
        http_session(door.url, door.token) as second,
    ):
        queued = asyncio.create_task(
            call_tool(first, "plan_context", {"task": TASK}, progress_callback=on_progress)
        )
        await asyncio.wait_for(waiting.wait(), CALL_TIMEOUT)
        turned_away = await call_tool(second, "plan_context", {"task": "tax_for rounds eu rates badly"})
        assert turned_away.is_error and "overloaded" in text(turned_away) and "retry" in text(turned_away)
        over_http = await door.plan("tax_for rounds eu rates badly")
        assert over_http.status == 503 and over_http.error["code"] == "overloaded", "one queue for both"
        gate.touch()
        done = await queued
        assert (
            not done.is_error and done.structured_content["selected"][0]["rel_path"] == "billing/invoice.py"
        )  # type: ignore[index]
        again = await call_tool(second, "plan_context", {"task": "tax_for rounds eu rates badly"})
        assert not again.is_error, text(again)


# ---- a second, independent client: the MCP Inspector's command-line mode ---------------------------


def inspector() -> list[str] | None:
    """The Inspector CLI and its Node, as .ci/run installs them (tests/mcp-inspector/)."""
    base = Path(os.environ.get("RTK_MCP_INSPECTOR_DIR") or Path.home() / ".cache/rtk-mcp-inspector")
    package = base / "node_modules/@modelcontextprotocol/inspector"
    node = base / "node_modules/.bin/node"
    if not (package / "package.json").is_file() or not node.exists():
        return None
    launcher = json.loads((package / "package.json").read_text())["bin"]["mcp-inspector"]
    return [str(node), str(package / launcher)]


def test_inspector_cli(shop: GitRepo, tmp_path: Path) -> None:
    cli = inspector()
    if not cli:
        if os.environ.get("CI"):
            pytest.fail("the MCP Inspector is not installed: .ci/run installs it")
        pytest.skip("the MCP Inspector is not installed (bash .ci/run installs it)")
    env = {**make_env(tmp_path), "MCP_CATALOG_PATH": str(tmp_path / "catalog.json"), "HOME": str(tmp_path)}
    server = [sys.executable, "-m", "rtk_lsp", "mcp", "--root", str(shop.root)]

    def run(*args: str) -> Any:
        done = subprocess.run(
            [*cli, "--cli", *server, *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=CALL_TIMEOUT,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    listed = run("--method", "tools/list")
    assert {t["name"] for t in listed["tools"]} == TOOLS
    plan = run(
        "--method", "tools/call", "--tool-name", "plan_context", "--tool-arg", f"task={TASK}", "budget=2500"
    )
    assert not plan.get("isError"), plan
    jsonschema.validate(plan["structuredContent"], plan_schema())
    assert plan["structuredContent"]["selected"][0]["rel_path"] == "billing/invoice.py"
    assert plan["structuredContent"]["budget_report"]["token_budget"] == 2500
    assert "billing/invoice.py" in plan["content"][0]["text"]
