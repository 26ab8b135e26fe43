"""Real rtk-lsp server processes for tests: `rtk-lsp serve`, the language server's HTTP door, the CLI.

Every subprocess gets its own cache and runtime dirs (`make_env`), so nothing touches the user's.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from lsprotocol import types
from pygls.protocol import default_converter
from pygls.protocol.json_rpc import JsonRPCResponseMessage
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities
from pytest_lsp.client import register_lsp_features

REPO = Path(__file__).resolve().parents[1]
TASK = "fix the discount rounding in InvoiceCalculator.apply_discount"
START_TIMEOUT = 60
MODES = ["serve", "lsp"]
LSP_SERVER = [sys.executable, "-m", "rtk_lsp.server.lsp"]

# `serve(root, *flags, env=...)` and `http_door(mode, root, env=...)` (see conftest.py)
ServeFactory = Callable[..., contextlib.AbstractAsyncContextManager["Target"]]


def make_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700, exist_ok=True)
    return {
        **os.environ,
        "RTK_LSP_CACHE_DIR": str(tmp_path / "cache"),
        "XDG_RUNTIME_DIR": str(runtime),
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
        **extra,
    }


# ---- a tiny HTTP client: http.client, so that any Host header can be sent ---------------------


@dataclass
class Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def error(self) -> dict[str, Any]:
        error: dict[str, Any] = self.json()["error"]
        return error


def call(
    url: str,
    method: str,
    path: str,
    body: Any = None,
    *,
    token: str | None = None,
    headers: Mapping[str, str] | None = None,
    raw: bytes | None = None,
    timeout: float = 60,
) -> Reply:
    parts = urlsplit(url)
    assert parts.hostname and parts.port
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        all_headers = {"Host": f"127.0.0.1:{parts.port}", **(headers or {})}
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for name, value in all_headers.items():
            conn.putheader(name, value)
        if data is not None:
            conn.putheader("Content-Type", "application/json")
            conn.putheader("Content-Length", str(len(data)))
        conn.endheaders(data)
        response = conn.getresponse()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        conn.close()


@dataclass
class Target:
    """A running HTTP door and what a client needs to talk to it."""

    mode: str
    url: str
    token: str | None
    root: Path
    env: dict[str, str]
    pid: int
    discovery: Path
    client: LanguageClient | None = None
    proc: asyncio.subprocess.Process | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    async def call(self, method: str, path: str, body: Any = None, **kw: Any) -> Reply:
        kw.setdefault("token", self.token)
        return await asyncio.to_thread(call, self.url, method, path, body, **kw)

    async def plan(self, task: str = TASK, headers: Mapping[str, str] | None = None, **fields: Any) -> Reply:
        body = {"project_root": str(self.root), "task": task, **fields}
        return await self.call("POST", "/v1/plan-context", body, headers=headers)

    async def healthy(self) -> None:
        reply = await self.call("GET", "/v1/health")
        assert reply.status == 200, reply.body
        assert reply.json()["status"] == "ok"

    async def wait_ready(self) -> dict[str, Any]:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            health: dict[str, Any] = (await self.call("GET", "/v1/health")).json()
            if health["roots"] and all(r["state"] != "indexing" for r in health["roots"]):
                return health
            assert time.monotonic() < deadline, "index never finished"
            await asyncio.sleep(0.05)


def discovery_files(env: Mapping[str, str]) -> list[Path]:
    directory = Path(env["XDG_RUNTIME_DIR"]) / "rtk-lsp"
    return sorted(directory.glob("server-*.json")) if directory.is_dir() else []


@contextlib.asynccontextmanager
async def run_serve(
    tmp_path: Path,
    root: Path,
    *args: str,
    env: dict[str, str] | None = None,
    preexec: Callable[[], None] | None = None,
) -> AsyncIterator[Target]:
    """`rtk-lsp serve --root ROOT ARGS` (`preexec` runs in the child before exec: limits);
    its stderr goes to the file `Target.extra["stderr"]`."""
    env = env or make_env(tmp_path)
    err = tmp_path / f"serve-{time.monotonic_ns()}.err"
    stderr = open(err, "wb")  # noqa: SIM115 (closed below)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "rtk_lsp",
        "serve",
        "--root",
        str(root),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=stderr,
        env=env,
        preexec_fn=preexec,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), START_TIMEOUT)).decode()
        match = re.fullmatch(r"listening on (http://127\.0\.0\.1:(\d+))\n", line)
        assert match, f"first line was {line!r}"
        [path] = discovery_files(env)
        info = json.loads(path.read_text())
        yield Target(
            "serve",
            match.group(1),
            info["token"],
            root.resolve(),
            env,
            proc.pid,
            path,
            proc=proc,
            extra={"stderr": err},
        )
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 20)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        stderr.close()


@contextlib.asynccontextmanager
async def run_lsp(tmp_path: Path, root: Path, env: dict[str, str] | None = None) -> AsyncIterator[Target]:
    env = env or make_env(tmp_path)
    config = ClientServerConfig(server_command=[sys.executable, "-m", "rtk_lsp.server.lsp"], server_env=env)
    client = await config.start()
    ready: list[Any] = []

    @client.feature("rtk/httpReady")
    def _on_ready(params: Any) -> None:
        ready.append(params)

    try:
        await asyncio.wait_for(
            client.initialize_session(
                types.InitializeParams(
                    capabilities=client_capabilities("visual-studio-code"),
                    workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
                )
            ),
            START_TIMEOUT,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while not ready:
            assert time.monotonic() < deadline, "no rtk/httpReady"
            await asyncio.sleep(0.02)
        params = ready[0]
        url = params["url"] if isinstance(params, dict) else params.url
        port = params["port"] if isinstance(params, dict) else params.port
        assert url == f"http://127.0.0.1:{port}"
        [path] = discovery_files(env)
        info = json.loads(path.read_text())
        assert info["url"] == url
        server = client._server
        assert server is not None
        yield Target("lsp", url, info["token"], root.resolve(), env, server.pid, path, client=client)
        await asyncio.wait_for(client.shutdown_session(), 30)
    finally:
        await stop(client)


def run_door(mode: str, tmp_path: Path, root: Path, env: dict[str, str] | None = None) -> Any:
    return run_serve(tmp_path, root, env=env) if mode == "serve" else run_lsp(tmp_path, root, env)


def cli(
    env: Mapping[str, str],
    *args: str,
    timeout: float = 120,
    preexec: Callable[[], None] | None = None,
    cwd: str | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """`rtk-lsp ARGS`; a run past `timeout` fails the test (`preexec` runs in the child: limits)."""
    try:
        return subprocess.run(
            [sys.executable, "-m", "rtk_lsp", *args],
            env=dict(env),
            capture_output=True,
            timeout=timeout,
            check=False,
            preexec_fn=preexec,
            cwd=cwd,
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"rtk-lsp {' '.join(args)} did not finish within {timeout:g} s") from exc


def without_timings(text: bytes) -> bytes:
    return re.sub(rb'"elapsed_ms": \{[^}]*\}', b'"elapsed_ms": {}', text)


async def stop(client: LanguageClient) -> None:
    """End the server even when the test failed half-way (pygls's stop() only waits for it)."""
    server = client._server
    if server is not None and server.returncode is None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.shutdown_session(), 10)
        if server.returncode is None:
            server.terminate()
    await client.stop()


# ---- a language server on stdio ---------------------------------------------------------------


def _raw_converter() -> Any:
    # Custom results as plain dicts instead of pygls's namedtuples (whose keys it renames).
    converter = default_converter()
    converter.register_structure_hook(JsonRPCResponseMessage, lambda obj, cls: cls(**obj))
    return converter


class Client(LanguageClient):
    registrations: list[types.Registration]
    http_ready: list[dict[str, Any]]


def make_client() -> Client:
    client = Client(converter_factory=_raw_converter)
    register_lsp_features(client)
    client.registrations = []
    client.http_ready = []

    @client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def _register(params: types.RegistrationParams) -> None:
        client.registrations.extend(params.registrations)

    @client.feature("rtk/httpReady")
    def _http_ready(params: Any) -> None:
        # custom notifications reach pygls clients as namedtuples
        client.http_ready.append(params._asdict() if hasattr(params, "_asdict") else params)

    return client


async def start_client(env: Mapping[str, str], preexec: Callable[[], None] | None = None) -> Client:
    """A language server process and a client on its stdio (`preexec` runs in the child: limits)."""
    client = make_client()
    await client.start_io(*LSP_SERVER, env=dict(env), preexec_fn=preexec)
    return client


async def initialize(
    client: LanguageClient,
    *folders: Path,
    extra: Sequence[types.WorkspaceFolder] = (),
    timeout: float = START_TIMEOUT,
) -> None:
    """`initialize` and `initialized` with these workspace folders, from a client with no capabilities."""
    workspace = [types.WorkspaceFolder(uri=f.as_uri(), name=f.name) for f in folders] + list(extra)
    params = types.InitializeParams(capabilities=types.ClientCapabilities(), workspace_folders=workspace)
    await asyncio.wait_for(client.initialize_session(params), timeout)


async def request(client: LanguageClient, method: str, params: Any, timeout: float = START_TIMEOUT) -> Any:
    return await asyncio.wait_for(client.protocol.send_request_async(method, params), timeout)


async def raw_request(client: LanguageClient, message: dict[str, Any], timeout: float = START_TIMEOUT) -> Any:
    """Send a message exactly as given (e.g. without a `params` key), as Neovim can."""
    future: concurrent.futures.Future[Any] = concurrent.futures.Future()
    client.protocol._request_futures[message["id"]] = future
    client.protocol._send_data({"jsonrpc": "2.0", **message})
    return await asyncio.wait_for(asyncio.wrap_future(future), timeout)


async def wait_indexed(
    client: LanguageClient, count: int = 1, timeout: float = START_TIMEOUT
) -> dict[str, Any]:
    async def ready() -> dict[str, Any]:
        while True:
            status = await request(client, "rtk/status", {})
            states = [f["state"] for f in status["folders"]]
            if len(states) >= count and all(s != "indexing" for s in states):
                return status
            await asyncio.sleep(0.05)

    return await asyncio.wait_for(ready(), timeout)
