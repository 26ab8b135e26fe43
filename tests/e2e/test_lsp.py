"""The language server over stdio, driven by pytest-lsp on real git repositories."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from gitrepo import GitRepo, make_billing_repo
from jsonschema import Draft202012Validator
from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams, JsonRpcRequestCancelled
from pytest_lsp import LanguageClient, client_capabilities
from servers import Client, raw_request, request, start_client, stop, wait_indexed

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 60


@contextlib.asynccontextmanager
async def session(
    tmp_path: Path,
    folders: list[Path],
    *,
    init_options: Any = None,
    capabilities: str = "visual-studio-code",
    configuration: dict[str, Any] | None = None,
) -> AsyncIterator[Client]:
    client = await start_client(server_env(tmp_path))
    if configuration is not None:
        client.set_configuration(configuration)
    params = types.InitializeParams(
        capabilities=client_capabilities(capabilities),
        root_uri=folders[0].as_uri() if folders else None,
        workspace_folders=[types.WorkspaceFolder(uri=f.as_uri(), name=f.name) for f in folders],
        initialization_options=init_options,
    )
    try:
        await asyncio.wait_for(client.initialize_session(params), TIMEOUT)
        yield client
        await asyncio.wait_for(client.shutdown_session(), TIMEOUT)
    finally:
        await stop(client)


def server_env(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "RTK_LSP_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": str(REPO)}
    # The HTTP door announces itself in the runtime dir, else under the cache dir: keep it in tmp.
    env.pop("XDG_RUNTIME_DIR", None)
    return env


async def wait_for(predicate: Any, timeout: float = TIMEOUT, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def ended(client: LanguageClient) -> list[types.ProgressToken]:
    return [
        token
        for token, values in client.progress_reports.items()
        if any(isinstance(v, types.WorkDoneProgressEnd) for v in values)
    ]


def top(plan: dict[str, Any]) -> str:
    return str(plan["selected"][0]["rel_path"])


def paths(plan: dict[str, Any]) -> list[str]:
    return [s["rel_path"] for s in plan["selected"]]


async def plan(client: LanguageClient, task: str, **extra: Any) -> dict[str, Any]:
    result = await request(client, "rtk/planContext", {"task": task, **extra})
    assert isinstance(result, dict)
    return result


# ---- lifecycle ---------------------------------------------------------------------------------


async def test_one_folder_progress_log_and_plan(
    shop: GitRepo, plan_validator: Draft202012Validator, tmp_path: Path
) -> None:
    async with session(tmp_path, [shop.root]) as client:
        await wait_for(lambda: ended(client), what="the end of the index progress")
        [values] = client.progress_reports.values()
        assert isinstance(values[0], types.WorkDoneProgressBegin)
        assert "indexing shop" in values[0].title
        assert isinstance(values[-1], types.WorkDoneProgressEnd)
        assert "indexed" in (values[-1].message or "")
        percents = [v.percentage for v in values if getattr(v, "percentage", None) is not None]
        assert percents == sorted(percents), "the bar only moves forward"
        await wait_for(
            lambda: any("indexed" in m.message and "files" in m.message for m in client.log_messages),
            what="the totals in window/logMessage",
        )

        result = await plan(client, "apply_discount rounds the wrong way for big invoices")
        plan_validator.validate(result)
        assert top(result) == "billing/invoice.py"
        assert result["root"] == str(shop.root.resolve())

        status = await request(client, "rtk/status", None)
        [folder] = status["folders"]
        assert folder["state"] == "ready" and folder["uri"] == shop.root.as_uri()
        assert folder["files"] >= 6 and folder["history"]["head"] == shop.head
        assert status["version"]
        await wait_for(lambda: client.http_ready, what="rtk/httpReady")  # the HTTP door announces itself
        [ready] = client.http_ready
        assert ready["url"] == f"http://127.0.0.1:{ready['port']}"
        assert (await request(client, "rtk/status", {}))["http"] == {"url": ready["url"]}


async def test_root_uri_without_folders(shop: GitRepo, tmp_path: Path) -> None:
    client = await start_client(server_env(tmp_path))
    try:
        await client.initialize_session(
            types.InitializeParams(capabilities=types.ClientCapabilities(), root_uri=shop.root.as_uri())
        )
        status = await wait_indexed(client)
        assert [f["root"] for f in status["folders"]] == [str(shop.root.resolve())]
        assert client.progress_reports == {}  # the client did not offer work-done progress
        assert top(await plan(client, "apply_discount")) == "billing/invoice.py"
        await client.shutdown_session()
    finally:
        await stop(client)


async def test_server_exits_when_the_editor_vanishes(tmp_path: Path) -> None:
    repo = make_big_repo(tmp_path / "big", 600)
    client = await start_client(server_env(tmp_path))
    try:
        await client.initialize_session(
            types.InitializeParams(
                capabilities=client_capabilities("visual-studio-code"),
                workspace_folders=[types.WorkspaceFolder(uri=repo.root.as_uri(), name="big")],
            )
        )
        await asyncio.sleep(0.3)  # the first index is under way
        server = client._server
        assert server is not None and server.stdin is not None
        started = time.monotonic()
        server.stdin.close()  # no shutdown, no exit: the editor crashed
        assert await asyncio.wait_for(server.wait(), 30) == 1
        assert time.monotonic() - started < 10
    finally:
        await stop(client)


async def test_two_folders(tmp_path: Path) -> None:
    shop = make_billing_repo(tmp_path / "shop")
    other = GitRepo(tmp_path / "other")
    other.commit(
        "init", {"geo/distance.py": "def haversine_distance(a, b):\n    return 0.0\n", "README.md": "x\n"}
    )
    async with session(tmp_path, [shop.root, other.root]) as client:
        await wait_for(lambda: len(ended(client)) == 2, what="two progress ends")
        status = await wait_indexed(client, 2)
        assert [f["root"] for f in status["folders"]] == [str(shop.root.resolve()), str(other.root.resolve())]

        by_workspace = await plan(client, "haversine_distance is wrong", workspace=other.root.as_uri())
        assert by_workspace["root"] == str(other.root.resolve()) and top(by_workspace) == "geo/distance.py"
        by_document = await plan(
            client, "haversine_distance", uri=(other.root / "geo" / "distance.py").as_uri()
        )
        assert by_document["root"] == str(other.root.resolve())
        default = await plan(client, "apply_discount")
        assert default["root"] == str(shop.root.resolve()) and top(default) == "billing/invoice.py"


async def test_add_and_remove_a_folder(tmp_path: Path) -> None:
    shop = make_billing_repo(tmp_path / "shop")
    other = GitRepo(tmp_path / "other")
    other.commit("init", {"geo/distance.py": "def haversine_distance(a, b):\n    return 0.0\n"})
    async with session(tmp_path, [shop.root]) as client:
        await wait_indexed(client)
        client.workspace_did_change_workspace_folders(
            types.DidChangeWorkspaceFoldersParams(
                event=types.WorkspaceFoldersChangeEvent(
                    added=[types.WorkspaceFolder(uri=other.root.as_uri(), name="other")], removed=[]
                )
            )
        )
        status = await wait_indexed(client, 2)
        assert len(status["folders"]) == 2
        await wait_for(lambda: len(ended(client)) == 2, what="progress for the added folder")
        result = await plan(client, "haversine_distance", workspace=other.root.as_uri())
        assert top(result) == "geo/distance.py"

        client.workspace_did_change_workspace_folders(
            types.DidChangeWorkspaceFoldersParams(
                event=types.WorkspaceFoldersChangeEvent(
                    added=[], removed=[types.WorkspaceFolder(uri=shop.root.as_uri(), name="shop")]
                )
            )
        )
        status = await request(client, "rtk/status", {})
        assert [f["root"] for f in status["folders"]] == [str(other.root.resolve())]
        with pytest.raises(JsonRpcInvalidParams, match="workspace"):
            await plan(client, "apply_discount", workspace=shop.root.as_uri())
        assert top(await plan(client, "haversine_distance")) == "geo/distance.py"


# ---- live updates ------------------------------------------------------------------------------


async def test_unsaved_edit_moves_a_file_into_the_plan(shop: GitRepo, tmp_path: Path) -> None:
    profile = shop.root / "users" / "profile.py"
    task = "compute_loyalty_points is off by one for new members"
    async with session(tmp_path, [shop.root]) as client:
        await wait_indexed(client)
        before = await plan(client, task)
        assert not before["selected"] or top(before) != "users/profile.py"

        uri = profile.as_uri()
        text = profile.read_text()
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)
            )
        )
        end = len(text.splitlines())
        addition = "\n    def compute_loyalty_points(self, orders):\n        return len(orders) * 10\n"
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
                content_changes=[
                    types.TextDocumentContentChangePartial(
                        range=types.Range(start=types.Position(end, 0), end=types.Position(end, 0)),
                        text=addition,
                    )
                ],
            )
        )
        after = await plan(client, task)
        assert top(after) == "users/profile.py"
        assert profile.read_text() == text, "the edit was never saved"

        content = await plan(client, task, detail="content")
        assert "compute_loyalty_points" in str(content["context"])

        # Closing without saving drops the unsaved text again.
        client.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )
        await asyncio.sleep(0.5)
        dropped = await plan(client, task)
        assert not dropped["selected"] or top(dropped) != "users/profile.py"


async def test_saved_file_is_reindexed(shop: GitRepo, tmp_path: Path) -> None:
    # A client without file watching (like Neovim 0.7): saves are what it reports.
    async with session(tmp_path, [shop.root], capabilities="neovim@v0.7.0") as client:
        await wait_indexed(client)
        assert client.registrations == []
        strings = shop.write(
            "utils/strings.py", "def render_receipt_banner(text):\n    return text.upper()\n"
        )
        client.text_document_did_save(
            types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=strings.as_uri()))
        )
        await asyncio.sleep(0.4)
        assert top(await plan(client, "render_receipt_banner shouts")) == "utils/strings.py"


async def test_created_file_reported_by_the_watcher(shop: GitRepo, tmp_path: Path) -> None:
    async with session(tmp_path, [shop.root]) as client:
        await wait_indexed(client)
        [registration] = client.registrations
        assert registration.method == types.WORKSPACE_DID_CHANGE_WATCHED_FILES
        globs = [w["globPattern"] for w in registration.register_options["watchers"]]  # type: ignore[index]
        assert globs == ["**/*", "**/.git/HEAD", "**/.git/refs/**"]

        created = shop.write(
            "shipping/rates.py", "def shipping_quote(weight, zone):\n    return weight * 2.5\n"
        )
        client.workspace_did_change_watched_files(
            types.DidChangeWatchedFilesParams(
                changes=[types.FileEvent(uri=created.as_uri(), type=types.FileChangeType.Created)]
            )
        )
        await asyncio.sleep(0.4)  # past the coalescing window: the refresh runs on its own
        result = await plan(client, "shipping_quote ignores the zone")
        assert top(result) == "shipping/rates.py"
        status = await request(client, "rtk/status", {})
        assert status["folders"][0]["refreshes"] >= 2


async def test_commit_updates_history(shop: GitRepo, tmp_path: Path) -> None:
    async with session(tmp_path, [shop.root]) as client:
        status = await wait_indexed(client)
        assert status["folders"][0]["history"]["head"] == shop.head
        commits = status["folders"][0]["history"]["commits"]

        # Told by the watcher: HEAD moved.
        new_head = shop.commit(
            "profile: title-case names", {"users/profile.py": "class Profile:\n    pass\n"}
        )
        client.workspace_did_change_watched_files(
            types.DidChangeWatchedFilesParams(
                changes=[
                    types.FileEvent(
                        uri=(shop.root / ".git" / "HEAD").as_uri(), type=types.FileChangeType.Changed
                    ),
                    types.FileEvent(
                        uri=(shop.root / "users" / "profile.py").as_uri(), type=types.FileChangeType.Changed
                    ),
                ]
            )
        )

        async def head_seen() -> dict[str, Any]:
            while True:
                status = await request(client, "rtk/status", {})
                if status["folders"][0]["history"]["head"] == new_head:
                    return status
                await asyncio.sleep(0.05)

        status = await asyncio.wait_for(head_seen(), TIMEOUT)
        assert status["folders"][0]["history"]["commits"] == commits + 1

        # Not told: the plan notices the moved HEAD by itself.
        newer = shop.commit("tax: drop eu", {"billing/tax.py": "RATES = {}\n"})
        await plan(client, "tax rates")
        status = await request(client, "rtk/status", {})
        assert status["folders"][0]["history"]["head"] == newer


async def test_refresh_request(shop: GitRepo, tmp_path: Path) -> None:
    async with session(tmp_path, [shop.root]) as client:
        await wait_indexed(client)
        shop.write("notes/todo.py", "def remember_the_milk():\n    pass\n")  # nobody tells the server
        entry = await request(client, "rtk/refresh", {"workspace": shop.root.as_uri()})
        assert entry["state"] == "ready" and entry["root"] == str(shop.root.resolve())
        await wait_for(lambda: len(ended(client)) == 2, what="the end of the refresh progress")
        refresh_token = next(t for t in ended(client) if str(t).startswith("rtk-refresh"))
        values = client.progress_reports[refresh_token]
        assert isinstance(values[0], types.WorkDoneProgressBegin) and "refreshing shop" in values[0].title
        assert "refreshed" in (values[-1].message or "")
        assert top(await plan(client, "remember_the_milk")) == "notes/todo.py"
        assert (await request(client, "rtk/refresh", None))["root"] == str(shop.root.resolve())
        with pytest.raises(JsonRpcInvalidParams, match="workspace"):
            await request(client, "rtk/refresh", {"workspace": (tmp_path / "nowhere").as_uri()})


# ---- validation --------------------------------------------------------------------------------


# (params, the field the error must name)
INVALID: list[tuple[Any, str]] = [
    ({}, "task"),  # missing
    ([], "task"),  # a Lua {} arrives as []
    ({"task": ""}, "task"),
    ({"task": 5}, "task"),
    ({"task": "x", "budget": "big"}, "budget"),
    ({"task": "x", "budget": -10}, "budget"),
    ({"task": "x", "budget": 2.5}, "budget"),
    ({"task": "x", "detail": "everything"}, "detail"),
    ({"task": "x", "workspace": 42}, "workspace"),
    ({"task": "x", "workspace": "file:///no/such/folder"}, "workspace"),
    ({"task": "x", "uri": 7}, "uri"),
    ("just a task", "params"),
]


async def test_invalid_params_are_answered(shop: GitRepo, tmp_path: Path) -> None:
    async with session(tmp_path, [shop.root]) as client:
        await wait_indexed(client)
        for params, field in INVALID:
            with pytest.raises(JsonRpcInvalidParams) as info:
                await request(client, "rtk/planContext", params, timeout=10)
            assert field in str(info.value), (params, str(info.value))

        # No params key at all, and params: null -- both must still get an answer.
        messages: list[dict[str, Any]] = [
            {"method": "rtk/planContext"},
            {"method": "rtk/planContext", "params": None},
        ]
        for i, message in enumerate(messages):
            with pytest.raises(JsonRpcException) as error:
                await raw_request(client, {"id": f"raw-{i}", **message}, timeout=10)
            assert error.value.code == -32602 and "task" in error.value.message
        status = await raw_request(client, {"id": "raw-status", "method": "rtk/status"}, timeout=10)
        assert status["folders"][0]["state"] == "ready"

        # ... and the server keeps answering real requests.
        assert top(await plan(client, "apply_discount")) == "billing/invoice.py"
        assert not [m for m in client.messages if m.type == types.MessageType.Error]


# ---- waiting for the first index ---------------------------------------------------------------


def make_big_repo(root: Path, n: int) -> GitRepo:
    repo = GitRepo(root)
    for i in range(n):
        repo.write(
            f"pkg{i % 40}/mod{i}.py",
            f'"""Module {i}."""\n\n\ndef helper_{i}(x):\n    return x + {i}\n\n\nclass Thing{i}:\n'
            f"    def run(self):\n        return helper_{i}(1)\n",
        )
    repo.write("billing/invoice.py", "def apply_discount(total, pct):\n    return total * (1 - pct / 100)\n")
    repo.commit("many modules")
    return repo


async def test_plan_during_the_first_index_waits(tmp_path: Path) -> None:
    repo = make_big_repo(tmp_path / "big", 1500)
    async with session(tmp_path, [repo.root]) as client:
        started = asyncio.create_task(plan(client, "apply_discount"))
        # Other requests are answered while the plan waits for the index.
        status = await request(client, "rtk/status", {})
        assert status["folders"][0]["state"] == "indexing", "the index ended too soon: make the repo bigger"
        assert not started.done()
        result = await started
        assert ended(client), "the plan was answered before the index finished"
        assert top(result) == "billing/invoice.py"


async def test_plan_timeout_names_the_progress_and_cancel_works(tmp_path: Path) -> None:
    repo = make_big_repo(tmp_path / "big", 1500)
    async with session(tmp_path, [repo.root], init_options={"planTimeout": 0.01}) as client:
        with pytest.raises(JsonRpcException) as info:
            await plan(client, "apply_discount")
        assert info.value.code == -32803 and "still indexing" in info.value.message
        assert str(repo.root.resolve()) in info.value.message

        await wait_indexed(client)
        assert top(await plan(client, "apply_discount")) == "billing/invoice.py"

    # A plan waiting for the index is cancelled by $/cancelRequest (a fresh cache: a cold index again).
    async with session(tmp_path / "again", [repo.root], init_options={"planTimeout": 60}) as client:
        future = client.protocol.send_request("rtk/planContext", {"task": "helper_3"}, msg_id="to-cancel")
        client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="to-cancel"))
        with pytest.raises(JsonRpcRequestCancelled):
            await asyncio.wait_for(asyncio.wrap_future(future), TIMEOUT)
        assert (await request(client, "rtk/status", {}))["version"]


# ---- settings ----------------------------------------------------------------------------------


async def test_settings_warnings_and_changes(shop: GitRepo, tmp_path: Path) -> None:
    options = {"tokenBudget": -3, "exclude": "users", "historyDepth": 50}
    async with session(tmp_path, [shop.root], init_options=options) as client:
        await wait_for(lambda: len(client.messages) >= 2, what="two warnings")
        warnings = [m.message for m in client.messages if m.type == types.MessageType.Warning]
        assert any("rtk.tokenBudget" in w for w in warnings) and any("rtk.exclude" in w for w in warnings)
        await wait_indexed(client)
        result = await plan(client, "apply_discount")
        assert result["budget_report"]["token_budget"] == 4000  # the invalid value fell back

        client.set_configuration({"tokenBudget": 1234, "maxFileSize": "huge"}, section="rtk")
        client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
        await wait_for(
            lambda: any("rtk.maxFileSize" in m.message for m in client.messages), what="a warning on change"
        )

        async def budget_applied() -> dict[str, Any]:
            while True:
                result = await plan(client, "apply_discount")
                if result["budget_report"]["token_budget"] == 1234:
                    return result
                await asyncio.sleep(0.05)

        result = await asyncio.wait_for(budget_applied(), TIMEOUT)
        assert result["budget_report"]["estimated_used"] <= 1234
        # A budget of 0 means the default, here the client's setting, as in every door.
        assert (await plan(client, "apply_discount", budget=0))["budget_report"]["token_budget"] == 1234

        client.set_configuration({"exclude": ["billing/**"]}, section="rtk")
        client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))

        async def billing_gone() -> None:
            while True:
                found = await plan(client, "apply_discount")
                if "billing/invoice.py" not in paths(found):
                    return
                await asyncio.sleep(0.1)

        await asyncio.wait_for(billing_gone(), TIMEOUT)
        assert not [m for m in client.messages if m.type == types.MessageType.Error]


async def test_status_shows_the_weeks_figures_and_the_setting_turns_recording_off(
    shop: GitRepo, tmp_path: Path
) -> None:
    async with session(tmp_path, [shop.root]) as client:
        await wait_indexed(client)
        served = await plan(client, "apply_discount rounds the wrong way")
        [folder] = (await request(client, "rtk/status", {}))["folders"]
        figures = folder["episodes"]
        assert figures["enabled"] is True and figures["days"] == 7 and figures["error"] is None
        gain = figures["gain"]
        assert (gain["plans"], gain["episodes_with_outcomes"]) == (1, 0)
        assert gain["tokens_injected"] == served["budget_report"]["estimated_used"]
        assert gain["field_recall"] is None and gain["field_precision"] is None, "nothing seen after it"

        client.set_configuration({"episodes": {"enabled": False}}, section="rtk")
        client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))

        async def off() -> dict[str, Any]:
            while True:
                [entry] = (await request(client, "rtk/status", {}))["folders"]
                if entry["episodes"]["enabled"] is False:
                    return dict(entry["episodes"])
                await asyncio.sleep(0.05)

        await asyncio.wait_for(off(), TIMEOUT)
        await plan(client, "apply_discount rounds the wrong way")
        [folder] = (await request(client, "rtk/status", {}))["folders"]
        assert folder["episodes"]["gain"]["plans"] == 1, "the plan served with recording off left nothing"
    async with session(tmp_path, [shop.root], init_options={"episodes": {"enabled": "no"}}) as client:
        await wait_for(lambda: client.messages, what="a warning")
        assert any("rtk.episodes.enabled" in m.message for m in client.messages)
