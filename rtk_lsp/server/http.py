"""The HTTP door: a loopback JSON API over the same `Engine` the language server uses.

Endpoints (all JSON, snake_case; see docs/http.md):

    GET  /v1/health         liveness, version, served roots and their index state
    POST /v1/plan-context   {project_root, task, token_budget, detail, format, trace, session} -> the plan
    GET  /v1/status         as the LSP's rtk/status
    POST /v1/refresh        {project_root} -> as the LSP's rtk/refresh
    GET|POST|DELETE /mcp    MCP over streamable HTTP (rtk_lsp.server.mcp.asgi), loaded on first use

Every request passes, in order: a Host check (DNS-rebinding defence), an Origin check (no
browser page may call in), the bearer token, a cap on requests in flight and a per-request
deadline. Plans then pass an admission counter: at most `max_pending` distinct plans may be
queued or running; identical ones join the one in flight (the engine shares the work), and
anything past the limit gets 503 with Retry-After instead of an unbounded queue.

The plan body is `plan_json(result)` plus a newline: byte for byte what
`rtk-lsp plan --format json` prints for the same snapshot.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import errno
import hmac
import ipaddress
import json
import logging
import math
import os
import socket
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web
from aiohttp.typedefs import Handler

from rtk_lsp import __version__
from rtk_lsp.engine import (
    Engine,
    EngineClosed,
    EngineError,
    FolderState,
    IndexFailed,
    IndexNotReady,
    UnknownWorkspace,
)
from rtk_lsp.paths import innermost, inside
from rtk_lsp.plan.request import (
    MAX_TASK_CHARS,
    PlanRequest,
    RequestError,
    parse_session,
    plan_request_from_json,
)
from rtk_lsp.plan.result import Plan, plan_json
from rtk_lsp.server.discovery import Announcement, new_token, project_top
from rtk_lsp.server.responses import (
    RETRY_INDEXING,
    RETRY_OVERLOADED,
    HttpError,
    bytes_response,
    json_response,
)
from rtk_lsp.settings import Settings

if TYPE_CHECKING:
    from rtk_lsp.server.mcp.asgi import McpEndpoint

logger = logging.getLogger(__name__)

MAX_BODY = MAX_TASK_CHARS  # a task as long as any door takes, in a body
MAX_PENDING = 64  # distinct plans queued or running; identical requests share one slot
MIN_PENDING = 4  # the adaptive limit never goes below this: enough to keep the planners busy
TARGET_LATENCY = 0.5  # seconds from admission to answer the adaptive limit steers towards
MAX_REQUESTS = 4096  # requests of any kind in flight at once
REQUEST_GRACE = 30.0  # seconds a request may run beyond its wait for a first index
KEEPALIVE_TIMEOUT = 30.0  # seconds an idle (or never-finished) connection is kept
SHUTDOWN_GRACE = 2.0  # seconds in-flight requests get when the server stops
BACKLOG = 4096  # the kernel caps it at net.core.somaxconn
ENCODED_CACHE = 64  # serialised plans kept, keyed by the identity of the engine's result

MCP_PATH = "/mcp"
LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost", "ip6-loopback"})


@dataclass(frozen=True)
class HttpOptions:
    token: str | None  # None: no authentication (tests only)
    wait_timeout: float  # seconds a plan waits for a root's first index before 503
    request_timeout: float | None = None  # None: wait_timeout + REQUEST_GRACE
    max_pending: int = MAX_PENDING
    max_requests: int = MAX_REQUESTS
    allow: tuple[str, ...] = ()  # directories under which unserved roots are opened on request
    max_roots: int = 32
    on_new_root: Callable[[FolderState], None] | None = None

    @property
    def deadline(self) -> float:
        return self.request_timeout if self.request_timeout is not None else self.wait_timeout + REQUEST_GRACE


def _bad_field(exc: RequestError) -> HttpError:
    return HttpError(400, "invalid_request", str(exc), field=exc.field)


def loopback_host(value: str | None) -> bool:
    """True for a Host header naming the loopback interface: localhost, 127.x.y.z or [::1], any port."""
    if not value:
        return False
    host = value.strip().lower()
    if host.startswith("["):
        end = host.find("]")
        if end < 0:
            return False
        rest = host[end + 1 :]
        if rest and not (rest.startswith(":") and _is_port(rest[1:])):
            return False
        host = host[1:end]
    elif ":" in host:
        host, _, port = host.rpartition(":")
        if ":" in host or not _is_port(port):
            return False  # an IPv6 address must be bracketed in a Host header
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _is_port(text: str) -> bool:
    return text.isdigit() and 0 < int(text) < 65536


def _bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _prefer_wait(header: str | None) -> float | None:
    """`Prefer: wait=N` (RFC 7240): the client's own limit on waiting for a first index."""
    if not header:
        return None
    for part in header.replace(";", ",").split(","):
        name, _, value = part.strip().partition("=")
        if name.strip().lower() == "wait":
            try:
                seconds = float(value.strip().strip('"'))
            except ValueError:
                return None
            return seconds if math.isfinite(seconds) and seconds >= 0 else None
    return None


class Door:
    """The state behind one HTTP app: the engine, admission counters, and the encoded-plan cache."""

    def __init__(self, engine: Engine, options: HttpOptions) -> None:
        self.engine = engine
        self.options = options
        self.active = 0  # requests in flight
        self.last_activity = asyncio.get_running_loop().time()
        self._pending: dict[tuple[str, PlanRequest], int] = {}
        self.limit = float(options.max_pending)  # adaptive: see _observe
        self._encoded: OrderedDict[int, tuple[Plan, bytes]] = OrderedDict()
        self._refreshing: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._token = options.token.encode() if options.token is not None else None
        self._mcp: McpEndpoint | None = None  # started by the first /mcp request

    # ---- middleware -----------------------------------------------------------------------------

    @web.middleware
    async def errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except HttpError as exc:
            return exc.response()
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            return self._http_exception(request, exc).response()
        except (asyncio.CancelledError, ConnectionResetError):
            raise
        except Exception:
            logger.exception("HTTP %s %s failed", request.method, request.path)
            return HttpError(500, "internal_error", "internal error; see the server log").response()

    def _http_exception(self, request: web.Request, exc: web.HTTPException) -> HttpError:
        if exc.status == 404:
            return HttpError(404, "not_found", f"no endpoint {request.path}; see /v1/health")
        if exc.status == 405:
            allowed = sorted(getattr(exc, "allowed_methods", ()) or ())
            return HttpError(
                405,
                "method_not_allowed",
                f"{request.method} is not allowed on {request.path}; use {', '.join(allowed)}",
                headers={"Allow": ", ".join(allowed)},
            )
        if exc.status == 413:
            return HttpError(413, "body_too_large", f"the request body is over {MAX_BODY} bytes")
        return HttpError(exc.status, "http_error", exc.reason)

    @web.middleware
    async def guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not loopback_host(request.headers.get("Host")):
            raise HttpError(403, "host_not_allowed", "the Host header must name the loopback interface")
        if "Origin" in request.headers:
            # Browsers always send Origin on cross-site calls; no legitimate client here does.
            raise HttpError(403, "origin_not_allowed", "requests from web pages are not accepted")
        if self._token is not None:
            given = _bearer(request.headers.get("Authorization"))
            if given is None or not hmac.compare_digest(
                given.encode("utf-8", "surrogateescape"), self._token
            ):
                raise HttpError(
                    401,
                    "unauthorized",
                    "missing or wrong bearer token (see the discovery file)",
                    headers={"WWW-Authenticate": 'Bearer realm="rtk-lsp"'},
                )
        if request.method == "GET" and request.path == MCP_PATH:
            # An MCP event stream stays open for the whole session: it is neither a request in
            # flight nor under a deadline (the SDK caps sessions, one stream each).
            return await handler(request)
        if self.active >= self.options.max_requests:
            raise HttpError(
                503,
                "overloaded",
                f"{self.active} requests in flight",
                headers={"Retry-After": str(RETRY_OVERLOADED)},
            )
        self.active += 1
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.options.deadline) as deadline:
                return await handler(request)
        except TimeoutError:
            if deadline.expired():
                raise HttpError(
                    503,
                    "timeout",
                    f"the request took longer than {self.options.deadline:g}s",
                    headers={"Retry-After": str(RETRY_OVERLOADED)},
                ) from None
            raise
        finally:
            self.active -= 1
            self.last_activity = loop.time()

    # ---- handlers -------------------------------------------------------------------------------

    async def health(self, request: web.Request) -> web.Response:
        return json_response(
            {
                "status": "ok",
                "version": __version__,
                "roots": [
                    {"root": f.root, "state": f.state, "progress": f.progress(), "error": f.error}
                    for f in self.engine.folders()
                ],
                "allow": list(self.options.allow),
            }
        )

    async def status(self, request: web.Request) -> web.Response:
        return json_response(await self.engine.status_with_gain())

    async def plan_context(self, request: web.Request) -> web.Response:
        raw = await self._body(request)
        plan_request = self._plan_request(raw)
        try:
            session = parse_session(raw.get("session"))
        except RequestError as exc:
            raise _bad_field(exc) from None
        folder = self.folder(raw)
        wait = self._wait(request)
        # Waiting for a first index says nothing about load: such plans do not steer the limit.
        with self.admit((folder.root, plan_request), observe=folder.ready.done()):
            try:
                result = await self.engine.plan(
                    folder, plan_request, timeout=wait, door="http", session=session
                )
            except EngineError as exc:
                raise self._engine_error(exc) from exc
        return bytes_response(self._encode(result))

    async def refresh(self, request: web.Request) -> web.Response:
        raw = await self._body(request)
        folder = self.folder(raw)
        # A refresh asked for while one of the same root runs shares it: a full re-scan each is waste.
        shared = self._refreshing.get(folder.root)
        if shared is None:
            shared = asyncio.ensure_future(self.engine.refresh(folder, full=True))
            self._refreshing[folder.root] = shared
            shared.add_done_callback(lambda fut: self._refreshed(folder.root, fut))
        try:
            return json_response(await asyncio.shield(shared))
        except EngineError as exc:
            raise self._engine_error(exc) from exc

    async def mcp(self, request: web.Request) -> web.StreamResponse:
        """MCP over streamable HTTP: the same tools as `rtk-lsp mcp`, on this server's engine."""
        if self._mcp is None:
            from rtk_lsp.server.mcp.asgi import McpEndpoint

            self._mcp = McpEndpoint(self)
        return await self._mcp.handle(request)

    async def close(self, app: web.Application | None = None) -> None:
        if self._mcp is not None:
            await self._mcp.close()

    def _refreshed(self, root: str, fut: asyncio.Future[dict[str, Any]]) -> None:
        self._refreshing.pop(root, None)
        if not fut.cancelled():
            fut.exception()  # seen: every client that asked may have gone away

    # ---- helpers --------------------------------------------------------------------------------

    async def _body(self, request: web.Request) -> dict[str, Any]:
        if request.content_length is not None and request.content_length > MAX_BODY:
            raise HttpError(413, "body_too_large", f"the request body is over {MAX_BODY} bytes")
        data = await request.read()  # aiohttp stops at client_max_size with 413
        if not data.strip():
            raise HttpError(400, "invalid_json", "the request body is empty; send a JSON object")
        try:
            raw = json.loads(data)
        except (ValueError, RecursionError) as exc:
            raise HttpError(400, "invalid_json", f"the request body is not valid JSON: {exc}") from None
        if not isinstance(raw, dict):
            raise HttpError(
                400, "invalid_json", f"the request body must be a JSON object, got {type(raw).__name__}"
            )
        return raw

    def _plan_request(self, raw: Mapping[str, Any]) -> PlanRequest:
        fmt = raw.get("format")
        if fmt is not None and fmt != "json":
            raise HttpError(400, "invalid_request", f'format: must be "json", got {fmt!r}', field="format")
        for flag in ("trace", "legacy"):
            if raw.get(flag) is not None and not isinstance(raw.get(flag), bool):
                raise HttpError(400, "invalid_request", f"{flag}: must be true or false", field=flag)
        if raw.get("legacy"):
            raise HttpError(
                400, "invalid_request", "legacy: there is no legacy pipeline here", field="legacy"
            )
        try:
            return plan_request_from_json(raw, self.engine.settings.token_budget, budget_field="token_budget")
        except RequestError as exc:
            raise _bad_field(exc) from None

    def folder(self, raw: Mapping[str, Any]) -> FolderState:
        value = raw.get("project_root")
        if value is None:
            raise HttpError(400, "invalid_request", "project_root: is required", field="project_root")
        if not isinstance(value, str) or not value or "\0" in value:
            raise HttpError(
                400, "invalid_request", "project_root: must be a non-empty path string", field="project_root"
            )
        if not os.path.isabs(value):
            raise HttpError(
                400, "invalid_request", "project_root: must be an absolute path", field="project_root"
            )
        # Symlinks resolved first, so that a link inside a served root cannot lead out of it.
        try:
            real = os.path.realpath(value)
        except ValueError:  # a lone surrogate that no file name can hold
            raise HttpError(
                400, "invalid_request", "project_root: is not a valid path", field="project_root"
            ) from None
        folder = innermost(real, self.engine.folders(), _root)
        if folder is None:
            folder = self._open_allowed(real, value)
        if not os.path.isdir(real):
            raise HttpError(
                400, "invalid_request", f"project_root: {value} is not a directory", field="project_root"
            )
        return folder

    def _open_allowed(self, real: str, given: str) -> FolderState:
        base = next((a for a in self.options.allow if inside(real, a)), None)
        if base is None or not os.path.isdir(real):
            raise HttpError(
                403, "root_not_served", f"project_root: {given} is not served here", field="project_root"
            )
        if len(self.engine.folders()) >= self.options.max_roots:
            raise HttpError(
                403,
                "root_not_served",
                f"project_root: {given} is not served and this server already serves "
                f"{self.options.max_roots} roots",
                field="project_root",
            )
        root = project_top(real, base)
        folder = self.engine.add_folder(root)
        logger.info("serving %s on request", root)
        if self.options.on_new_root is not None:
            self.options.on_new_root(folder)
        return folder

    def _wait(self, request: web.Request) -> float:
        wait = self.options.wait_timeout
        asked = _prefer_wait(request.headers.get("Prefer"))
        return wait if asked is None else min(wait, asked)

    @contextlib.contextmanager
    def admit(self, key: tuple[str, PlanRequest], observe: bool = True) -> Iterator[None]:
        count = self._pending.get(key)
        if count is None:
            if len(self._pending) >= int(self.limit):
                raise HttpError(
                    503,
                    "overloaded",
                    f"{len(self._pending)} distinct plans are queued or running; retry shortly",
                    headers={"Retry-After": str(RETRY_OVERLOADED)},
                )
            count = 0
        self._pending[key] = count + 1
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            yield
        finally:
            left = self._pending[key] - 1
            if left:
                self._pending[key] = left
            else:
                del self._pending[key]
                if observe:
                    self._observe(loop.time() - started)

    def _observe(self, latency: float) -> None:
        """Additive increase, additive decrease of the limit on distinct pending plans.

        A count alone cannot bound latency: how long 64 queued plans take depends on the
        repository, the tasks and what else holds the GIL. So every answered plan that took
        longer than TARGET_LATENCY lowers the limit by one, and every quick one raises it by
        1/limit (one step per "window" of answers), between MIN_PENDING and max_pending.
        """
        if latency > TARGET_LATENCY:
            self.limit = max(float(min(MIN_PENDING, self.options.max_pending)), self.limit - 1)
        else:
            self.limit = min(float(self.options.max_pending), self.limit + 1 / self.limit)

    def _engine_error(self, exc: EngineError) -> HttpError:
        if isinstance(exc, IndexNotReady):
            return HttpError(
                503,
                "index_not_ready",
                str(exc),
                headers={"Retry-After": str(RETRY_INDEXING)},
                extra={"progress": exc.progress},
            )
        if isinstance(exc, EngineClosed):
            return HttpError(
                503,
                "shutting_down",
                "the server is shutting down",
                headers={"Retry-After": str(RETRY_INDEXING)},
            )
        if isinstance(exc, UnknownWorkspace):
            return HttpError(403, "root_not_served", str(exc), field="project_root")
        if isinstance(exc, IndexFailed):
            return HttpError(500, "index_failed", str(exc))
        return HttpError(500, "internal_error", str(exc))

    def _encode(self, result: Plan) -> bytes:
        # Shared and cached plans come back as the same object: serialise each once.
        key = id(result)
        hit = self._encoded.get(key)
        if hit is not None and hit[0] is result:
            self._encoded.move_to_end(key)
            return hit[1]
        body = (plan_json(result) + "\n").encode()
        self._encoded[key] = (result, body)
        while len(self._encoded) > ENCODED_CACHE:
            self._encoded.popitem(last=False)
        return body


def _root(folder: FolderState) -> str:
    return folder.root


DOOR: web.AppKey[Door] = web.AppKey("rtk_door", Door)


def create_app(engine: Engine, options: HttpOptions) -> web.Application:
    door = Door(engine, options)
    app = web.Application(middlewares=[door.errors, door.guard], client_max_size=MAX_BODY)
    app[DOOR] = door
    app.router.add_get("/v1/health", door.health)
    app.router.add_get("/v1/status", door.status)
    app.router.add_post("/v1/plan-context", door.plan_context)
    app.router.add_post("/v1/refresh", door.refresh)
    for method in ("GET", "POST", "DELETE"):
        app.router.add_route(method, MCP_PATH, door.mcp)
    app.on_shutdown.append(door.close)
    return app


class HttpServer:
    """The listening sockets of one app: 127.0.0.1 always, ::1 on the same port when the host has it."""

    def __init__(self, app: web.Application, runner: web.AppRunner, port: int) -> None:
        self.app = app
        self.runner = runner
        self.port = port
        self.url = f"http://127.0.0.1:{port}"

    @property
    def door(self) -> Door:
        return self.app[DOOR]

    @classmethod
    async def start(cls, engine: Engine, options: HttpOptions, port: int = 0) -> HttpServer:
        app = create_app(engine, options)
        runner = web.AppRunner(
            app,
            access_log=None,
            handle_signals=False,
            shutdown_timeout=SHUTDOWN_GRACE,
            keepalive_timeout=KEEPALIVE_TIMEOUT,
            max_line_size=8190,
            max_field_size=8190,
            max_headers=64,
            auto_decompress=False,  # a small gzip body must not inflate past the size limit
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, "127.0.0.1", port, backlog=BACKLOG, reuse_address=True)
            await site.start()
            bound = _bound_port(runner)
            with contextlib.suppress(OSError):
                if socket.has_ipv6:
                    await web.TCPSite(runner, "::1", bound, backlog=BACKLOG, reuse_address=True).start()
        except BaseException:
            await runner.cleanup()
            raise
        return cls(app, runner, bound)

    async def stop(self) -> None:
        await self.runner.cleanup()


def _bound_port(runner: web.AppRunner) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    raise OSError(errno.EADDRNOTAVAIL, "the HTTP server did not bind")


async def start_http(engine: Engine, settings: Settings) -> str | None:
    """The language server's embedded endpoint: listen, announce, stop with the engine.

    The discovery file lists the editor's workspace folders and follows them as they change.
    """
    token = new_token()
    server = await HttpServer.start(
        engine, HttpOptions(token=token, wait_timeout=settings.plan_timeout), settings.http.port
    )
    announcement = Announcement(server.url, token, "lsp", [f.root for f in engine.folders()])
    try:
        announcement.publish()
    except OSError as exc:
        logger.warning("HTTP endpoint %s is not discoverable: %s", server.url, exc)
    # If the editor vanishes the engine is closed without its hooks; the file still goes.
    atexit.register(announcement.withdraw)

    def follow(folder: FolderState, event: str) -> None:
        if event in ("ready", "failed", "removed"):
            announcement.set_roots(f.root for f in engine.folders())

    unsubscribe = engine.subscribe(follow)

    async def close() -> None:
        unsubscribe()
        announcement.withdraw()
        atexit.unregister(announcement.withdraw)
        await server.stop()

    engine.on_close(close)
    return server.url
