"""The HTTP app in-process, through aiohttp's test server and client (tests/e2e/test_http.py
drives the same app in real server processes)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from fakes import Harness
from gitrepo import GitRepo
from jsonschema import Draft202012Validator

from rtk_lsp.engine import Engine
from rtk_lsp.plan.request import PlanRequest
from rtk_lsp.plan.result import plan_json
from rtk_lsp.planning import build_snapshot, plan_snapshot
from rtk_lsp.server.http import HttpOptions, create_app
from rtk_lsp.settings import Settings

TOKEN = "test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
TASK = "fix the discount rounding in InvoiceCalculator.apply_discount"


async def start(engine: Engine, **options: Any) -> TestClient[Any, Any]:
    app = create_app(
        engine, HttpOptions(token=TOKEN, wait_timeout=options.pop("wait_timeout", 30), **options)
    )
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    return client


@pytest.fixture
async def served(shop: GitRepo) -> AsyncIterator[tuple[TestClient[Any, Any], Engine]]:
    engine = Engine(Settings())
    engine.add_folder(str(shop.root))
    client = await start(engine)
    try:
        yield client, engine
    finally:
        await client.close()
        await engine.close()


async def post(client: TestClient[Any, Any], path: str, body: Any, headers: Mapping[str, str] = AUTH) -> Any:
    return await client.post(
        path, data=json.dumps(body), headers={**headers, "Content-Type": "application/json"}
    )


async def test_a_plan_is_the_pipelines_plan_byte_for_byte(
    served: tuple[TestClient[Any, Any], Engine], shop: GitRepo, plan_validator: Draft202012Validator
) -> None:
    client, engine = served
    root = str(shop.root.resolve())
    reply = await post(client, "/v1/plan-context", {"project_root": root, "task": TASK, "detail": "content"})
    assert reply.status == 200, await reply.text()
    assert reply.headers["Content-Type"].startswith("application/json")
    body = await reply.read()
    plan_validator.validate(json.loads(body))
    local = plan_snapshot(build_snapshot(root, Settings()), PlanRequest(TASK, detail="content"))
    assert body.split(b'"stats"')[0] == (plan_json(local) + "\n").encode().split(b'"stats"')[0]

    again = await post(client, "/v1/plan-context", {"project_root": root, "task": TASK, "detail": "content"})
    assert await again.read() == body  # the same snapshot: the engine's answer, encoded once
    [folder] = engine.folders()
    assert folder.plans.hits == 1 and folder.plans.misses == 1


async def test_health_status_and_refresh(served: tuple[TestClient[Any, Any], Engine], shop: GitRepo) -> None:
    client, _ = served
    root = str(shop.root.resolve())
    assert (await post(client, "/v1/plan-context", {"project_root": root, "task": TASK})).status == 200
    health = await (await client.get("/v1/health", headers=AUTH)).json()
    assert health["status"] == "ok" and [r["state"] for r in health["roots"]] == ["ready"]
    status = await (await client.get("/v1/status", headers=AUTH)).json()
    assert status["folders"][0]["root"] == root
    refreshed = await post(client, "/v1/refresh", {"project_root": root})
    assert refreshed.status == 200 and (await refreshed.json())["refreshes"] == 2


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status", "code"),
    [
        ("POST", "/v1/plan-context", {"task": TASK}, {}, 401, "unauthorized"),
        ("GET", "/v1/health", None, {**AUTH, "Host": "evil.example:80"}, 403, "host_not_allowed"),
        ("GET", "/v1/health", None, {**AUTH, "Origin": "http://evil.example"}, 403, "origin_not_allowed"),
        ("POST", "/v1/plan-context", "not json", AUTH, 400, "invalid_json"),
        ("POST", "/v1/plan-context", {"task": TASK}, AUTH, 400, "invalid_request"),
        ("POST", "/v1/plan-context", {"project_root": "<root>", "task": ""}, AUTH, 400, "invalid_request"),
        (
            "POST",
            "/v1/plan-context",
            {"project_root": "<root>", "task": TASK, "token_budget": -1},
            AUTH,
            400,
            "invalid_request",
        ),
        (
            "POST",
            "/v1/plan-context",
            {"project_root": "<root>", "task": TASK, "detail": "all"},
            AUTH,
            400,
            "invalid_request",
        ),
        ("POST", "/v1/plan-context", {"project_root": "/", "task": TASK}, AUTH, 403, "root_not_served"),
        ("GET", "/v1/nothing", None, AUTH, 404, "not_found"),
        ("DELETE", "/v1/health", None, AUTH, 405, "method_not_allowed"),
    ],
)
async def test_errors_name_their_cause(
    served: tuple[TestClient[Any, Any], Engine],
    shop: GitRepo,
    method: str,
    path: str,
    body: Any,
    headers: dict[str, str],
    status: int,
    code: str,
) -> None:
    client, _ = served
    if isinstance(body, dict) and body.get("project_root") == "<root>":
        body = {**body, "project_root": str(shop.root.resolve())}
    data = body if isinstance(body, str) or body is None else json.dumps(body)
    reply = await client.request(method, path, data=data, headers=headers)
    assert reply.status == status, await reply.text()
    assert (await reply.json())["error"]["code"] == code
    assert "Access-Control-Allow-Origin" not in reply.headers


async def test_503_while_indexing_and_when_overloaded(tmp_path: Path) -> None:
    h = Harness()
    engine = Engine(Settings(), workspace_factory=h.workspace, planner=h.planner)
    folder = engine.add_folder(str(tmp_path), start=False)
    workspace = h.workspaces[folder.root]
    workspace.gate.clear()  # the first index is held until the test lets it go
    engine.start_indexing(folder)
    client = await start(engine, max_pending=2)
    try:
        body = {"project_root": str(tmp_path.resolve()), "task": "a"}
        reply = await post(client, "/v1/plan-context", body, {**AUTH, "Prefer": "wait=0"})
        assert reply.status == 503 and reply.headers["Retry-After"] == "2"
        error = (await reply.json())["error"]
        assert error["code"] == "index_not_ready" and set(error["progress"]) == {"phase", "done", "total"}

        # Two distinct plans wait for the index: a third is told to come back; a copy of one joins it.
        waiting = [asyncio.ensure_future(post(client, "/v1/plan-context", {**body, "task": t})) for t in "bc"]
        await asyncio.sleep(0.2)
        over = await post(client, "/v1/plan-context", {**body, "task": "d"})
        assert over.status == 503 and (await over.json())["error"]["code"] == "overloaded"
        assert over.headers["Retry-After"] == "1"
        joined = asyncio.ensure_future(post(client, "/v1/plan-context", {**body, "task": "b"}))
        workspace.gate.set()
        replies = await asyncio.gather(*waiting, joined)
        assert [r.status for r in replies] == [200, 200, 200]
        assert sorted(r.task for _, r in h.plans) == ["b", "c"]  # the copy shared b's computation
    finally:
        workspace.gate.set()
        await client.close()
        await engine.close()
