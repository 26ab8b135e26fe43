"""MCP over streamable HTTP at `/mcp`, on the HTTP door's aiohttp server.

The SDK's streamable HTTP transport is an ASGI application (its session manager). Rather
than run a second web server beside the door (a second port, a second security layer),
each `/mcp` request that has passed the door's Host, Origin, token and in-flight checks is
handed to the session manager through a small ASGI adapter: the aiohttp request becomes
an ASGI scope and `receive`, and ASGI `send` messages become an aiohttp response (streamed
for server-sent events). Plans requested through MCP take a place in the door's bounded
queue like `/v1/plan-context`, and every session shares the server's one warm engine.

This module is imported on the first `/mcp` request only, so the language server and
`rtk-lsp serve` start without loading the SDK.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator, MutableMapping
from typing import TYPE_CHECKING, Any

from aiohttp import web
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings

from rtk_lsp.engine import Engine, FolderState
from rtk_lsp.plan.request import PlanRequest
from rtk_lsp.server.mcp.tools import build_server
from rtk_lsp.server.responses import RETRY_OVERLOADED, HttpError

if TYPE_CHECKING:
    from rtk_lsp.server.http import Door

logger = logging.getLogger(__name__)

MAX_SESSIONS = 64  # each may hold one event stream open: bounded like everything else at the door
SESSION_IDLE_TIMEOUT = 30 * 60.0
DISCONNECT_POLL = 0.5  # seconds between checks whether a streaming client went away
STOP_GRACE = 3.0
_HOP_BY_HOP = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})


class DoorBackend:
    """The tools' view of the HTTP door: its served roots, its wait, its admission counter."""

    roots_from = "the roots this server serves"

    def __init__(self, door: Door) -> None:
        self._door = door

    @property
    def engine(self) -> Engine:
        return self._door.engine

    @property
    def wait_timeout(self) -> float:
        return self._door.options.wait_timeout

    async def folder(self, root: str | None) -> FolderState:
        if root is None:
            folders = self.engine.folders()
            if not folders:
                raise ToolError("this server serves no workspace yet; pass root (an absolute path)")
            return folders[0]
        try:
            return self._door.folder({"project_root": root})
        except HttpError as exc:
            raise ToolError(exc.message.replace("project_root", "root")) from None

    @contextlib.contextmanager
    def admit(self, folder: FolderState, request: PlanRequest) -> Iterator[None]:
        with contextlib.ExitStack() as stack:
            try:
                stack.enter_context(self._door.admit((folder.root, request), observe=folder.ready.done()))
            except HttpError as exc:
                raise ToolError(f"{exc.message} (server overloaded); retry in {RETRY_OVERLOADED}s") from None
            yield


class McpEndpoint:
    """The SDK's session manager, run for the life of the door and fed through an ASGI adapter."""

    def __init__(self, door: Door) -> None:
        server = build_server(DoorBackend(door))
        server.streamable_http_app(
            session_idle_timeout=SESSION_IDLE_TIMEOUT,
            max_sessions=MAX_SESSIONS,
            # The door has refused foreign Host headers and any Origin before a request gets here.
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )
        self._manager = server.session_manager
        self._stop = asyncio.Event()
        self._started: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._run(), name="mcp sessions")

    async def _run(self) -> None:
        try:
            async with self._manager.run():
                self._started.set_result(None)
                await self._stop.wait()
        except BaseException as exc:
            if not self._started.done():
                self._started.set_exception(exc)
            raise

    async def close(self) -> None:
        self._stop.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), STOP_GRACE)
        except TimeoutError:
            self._task.cancel()
        except Exception as exc:
            logger.warning("MCP sessions did not stop cleanly: %s", exc)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        await asyncio.shield(self._started)
        body = await request.read()  # the door's body limit applies
        exchange = _Exchange(request, body)
        try:
            await self._manager.handle_request(exchange.scope(), exchange.receive, exchange.send)
        except Exception:
            if exchange.response is None or not exchange.response.prepared:
                raise
            logger.exception("MCP stream on %s ended with an error", request.path)
        return exchange.result()


class _Exchange:
    """One request/response pair between aiohttp and an ASGI application."""

    def __init__(self, request: web.Request, body: bytes) -> None:
        self.request = request
        self.body = body
        self.body_sent = False
        self.status = 500
        self.headers: list[tuple[str, str]] = []
        self.response: web.StreamResponse | None = None

    def scope(self) -> dict[str, Any]:
        request = self.request
        peer = request.transport.get_extra_info("peername") if request.transport else None
        client = (peer[0], peer[1]) if isinstance(peer, tuple) and len(peer) >= 2 else None
        return {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": f"{request.version.major}.{request.version.minor}",
            "method": request.method,
            "scheme": "http",
            "path": request.path,
            "raw_path": request.raw_path.split("?", 1)[0].encode("latin-1"),
            "query_string": request.query_string.encode("latin-1"),
            "root_path": "",
            "headers": [(k.lower(), v) for k, v in request.raw_headers],
            "client": client,
            "server": None,
            "state": {},
        }

    async def receive(self) -> dict[str, Any]:
        if not self.body_sent:
            self.body_sent = True
            return {"type": "http.request", "body": self.body, "more_body": False}
        # Nothing more will come: report the client's going away, which ends an event stream.
        while True:
            transport = self.request.transport
            if transport is None or transport.is_closing():
                return {"type": "http.disconnect"}
            await asyncio.sleep(DISCONNECT_POLL)

    async def send(self, message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
            self.headers = [
                (k.decode("latin-1"), v.decode("latin-1"))
                for k, v in message.get("headers", ())
                if k.decode("latin-1").lower() not in _HOP_BY_HOP
            ]
            return
        if message["type"] != "http.response.body":
            return
        chunk = bytes(message.get("body", b""))
        more = bool(message.get("more_body", False))
        if self.response is None:
            if not more:  # the whole answer at once
                self.response = web.Response(status=self.status, headers=self.headers, body=chunk)
                return
            self.response = web.StreamResponse(status=self.status, headers=self.headers)
            await self.response.prepare(self.request)
        try:
            if chunk:
                await self.response.write(chunk)
            if not more:
                await self.response.write_eof()
        except ConnectionResetError:
            pass  # the client left; receive() reports it, which ends the stream

    def result(self) -> web.StreamResponse:
        if self.response is None:
            return web.Response(status=500, text="the MCP transport sent no response")
        return self.response
