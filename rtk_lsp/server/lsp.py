"""The language server: LSP wiring around the engine, and nothing else.

Run with `rtk-lsp lsp` (stdio), or `python -m rtk_lsp.server.lsp [--tcp HOST:PORT]`.

Custom requests (`rtk/planContext`, `rtk/status`, `rtk/refresh`) take their params raw:
pygls 2 drops a request it cannot structure without answering it (no `params`, or a Lua
`{}` that arrives as `[]`), so every `rtk/*` message is read as a plain dict and
validated here, where a bad field becomes a JSON-RPC InvalidParams error naming it.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import inspect
import itertools
import logging
import os
import sys
import threading
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import unquote, urlparse

import attrs
from cattrs import Converter
from lsprotocol import types
from pygls.exceptions import (
    FeatureRequestError,
    JsonRpcException,
    JsonRpcInvalidParams,
    JsonRpcInvalidRequest,
    JsonRpcServerNotInitialized,
)
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol, default_converter
from pygls.protocol.json_rpc import JsonRPCNotification, JsonRPCResponseMessage
from pygls.uris import from_fs_path, to_fs_path

from rtk_lsp import __version__
from rtk_lsp.engine import (
    Engine,
    EngineError,
    FolderState,
    IndexNotReady,
    UnknownWorkspace,
    exit_if_stuck,
)
from rtk_lsp.logs import condense, condense_root
from rtk_lsp.paths import path_of
from rtk_lsp.plan.request import RequestError, plan_request_from_json
from rtk_lsp.plan.result import to_json
from rtk_lsp.server.http import start_http
from rtk_lsp.settings import Settings, environment_settings, settings_from_json
from rtk_lsp.tasks import BackgroundTasks

# Not __name__: under `python -m` that is "__main__", outside the "rtk_lsp" logger tree.
logger = logging.getLogger("rtk_lsp.server.lsp")

PLAN_CONTEXT = "rtk/planContext"
STATUS = "rtk/status"
REFRESH = "rtk/refresh"
HTTP_READY = "rtk/httpReady"  # server -> client notification: {url, port}
_OUTGOING = frozenset({HTTP_READY})

REQUEST_FAILED = -32803  # LSP RequestFailed: well-formed, but it cannot be answered now
CLIENT_TIMEOUT = 5.0  # seconds to wait for the client's answer to our own requests

# Overall percentage at the start of each indexing phase, so that the bar only moves forward.
_PHASES = {"load": 0, "scan": 5, "parse": 10, "graph": 85, "history": 90, "store": 98}


# ---- protocol: raw params for rtk/* ------------------------------------------------------------


@attrs.define
class RawRequest:
    """A whole JSON-RPC request whose params stay exactly what the JSON said."""

    id: int | str
    method: str
    params: Any = None
    jsonrpc: str = "2.0"


def _structure_raw(obj: Mapping[str, Any], _cls: type) -> Any:
    if "id" not in obj:
        # An rtk/* notification: no handler exists, but it must not break the reader.
        return JsonRPCNotification(
            method=obj["method"], jsonrpc=obj.get("jsonrpc", "2.0"), params=obj.get("params")
        )
    return RawRequest(
        id=obj["id"], method=obj["method"], params=obj.get("params"), jsonrpc=obj.get("jsonrpc", "2.0")
    )


def _unstructure_response(message: JsonRPCResponseMessage) -> dict[str, Any]:
    # Only rtk/* requests answer through this generic type, with JSON-ready dicts; walking a
    # large plan through cattrs would cost about a millisecond for nothing. json.dumps still
    # falls back to the converter for anything that is not plain JSON.
    return {"id": message.id, "jsonrpc": message.jsonrpc, "result": message.result}


def rtk_converter() -> Converter:
    converter: Converter = default_converter()  # type: ignore[no-untyped-call]
    converter.register_structure_hook(RawRequest, _structure_raw)
    converter.register_unstructure_hook(JsonRPCResponseMessage, _unstructure_response)
    return converter


class RtkProtocol(LanguageServerProtocol):
    _seen: frozenset[str] = frozenset()  # of initialize and initialized, once each

    # The base method is lru_cached, which mypy sees as a different kind of attribute.
    def get_message_type(self, method: str) -> type[Any] | None:  # type: ignore[override]
        if method.startswith("rtk/") and method not in _OUTGOING:
            return RawRequest
        return super().get_message_type(method)

    def handle_message(self, message: Any) -> None:
        # pygls drops requests after `shutdown` without an answer, and runs a second
        # `initialize` or `initialized` (a second engine, a second HTTP listener): requests
        # get InvalidRequest instead, a repeated `initialized` is ignored.
        method, msg_id = getattr(message, "method", None), getattr(message, "id", None)
        if method in (types.INITIALIZE, types.INITIALIZED):
            repeated = method in self._seen
            self._seen |= {method}
            if repeated and msg_id is None:
                logger.warning("ignoring a repeated %s notification", method)
                return
        else:
            repeated = False
        if method is not None and msg_id is not None and method != types.EXIT:
            refusal = None
            if self._shutdown:
                refusal = f"{method}: the server is shut down; only exit is accepted"
            elif repeated:
                refusal = f"{method}: the server is already initialized"
            if refusal is not None:
                self._send_response(msg_id, None, JsonRpcInvalidRequest(refusal).to_response_error())
                return
        super().handle_message(message)


class _Expected:
    """Marks errors the client caused or must retry: logged in one line, not as tracebacks."""


class InvalidParams(_Expected, JsonRpcInvalidParams):
    pass


class RequestFailed(_Expected, JsonRpcException):
    CODE = REQUEST_FAILED
    MESSAGE = "Request failed"


def _rpc_error(exc: EngineError) -> JsonRpcException:
    if isinstance(exc, UnknownWorkspace):
        return InvalidParams(f"workspace: {exc}", data={"field": "workspace"})
    if isinstance(exc, IndexNotReady):
        return RequestFailed(str(exc), data={"reason": "indexing", "progress": exc.progress})
    return RequestFailed(str(exc))


def _params_object(params: Any, method: str) -> dict[str, Any]:
    if params is None or params == []:  # no params, null, or a Lua {} (it encodes as [])
        return {}
    if isinstance(params, dict):
        return params
    raise InvalidParams(
        f"{method}: params must be an object, got {type(params).__name__}", data={"field": "params"}
    )


def _holds_nul(uri: str) -> bool:
    """A NUL (also as `%00`) names no file: such a URI is a bad parameter, not a server error."""
    return "\0" in uri or "\0" in unquote(uri)


def _settings_payload(options: Any) -> Any:
    """The settings object inside initializationOptions, whichever common shape the client used."""
    if isinstance(options, Mapping):
        for key in ("settings", "globalSettings"):
            if isinstance(options.get(key), Mapping):
                return options[key]
    return options


# ---- logging -----------------------------------------------------------------------------------


_LOG_TYPES = {
    logging.ERROR: types.MessageType.Error,
    logging.WARNING: types.MessageType.Warning,
    logging.INFO: types.MessageType.Info,
}


class ClientLogHandler(logging.Handler):
    """Forwards our own log records to the editor as window/logMessage.

    Records may come from worker threads; they are sent from the loop, since pygls's
    writer is not thread-safe. Until `initialized` they are buffered.
    """

    def __init__(self, server: LanguageServer) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(logging.Formatter("%(message)s"))
        condense(self)
        self._server = server
        self._buffer: collections.deque[tuple[types.MessageType, str]] = collections.deque(maxlen=200)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._live = False

    def go_live(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop, self._loop_thread, self._live = loop, threading.get_ident(), True
        while self._buffer:
            self._send(*self._buffer.popleft())

    def stop(self) -> None:
        self._live = False

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("pygls"):
            return  # pygls logs every message it sends; forwarding those would loop
        try:
            message = self.format(record)
        except Exception:
            return
        kind = _LOG_TYPES.get(record.levelno, types.MessageType.Log)
        if record.levelno > logging.ERROR:
            kind = types.MessageType.Error
        if not self._live or self._loop is None:
            self._buffer.append((kind, message))
        elif threading.get_ident() == self._loop_thread:
            self._send(kind, message)
        else:
            with contextlib.suppress(RuntimeError):  # loop closed: the session is over
                self._loop.call_soon_threadsafe(self._send, kind, message)

    def _send(self, kind: types.MessageType, message: str) -> None:
        if self._live:
            with contextlib.suppress(Exception):
                self._server.window_log_message(types.LogMessageParams(type=kind, message=message))


class _QuietExpectedErrors(logging.Filter):
    """pygls logs every error response with a traceback; ours for bad params are routine."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, _Expected)


def configure_logging(level: int | str | None = None) -> None:
    """stderr, INFO and up for rtk_lsp, WARNING for libraries (an editor may log each line as an error).

    Keeps a stderr setup the CLI already made (`rtk-lsp -v lsp` logs everything at DEBUG).
    """
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("rtk-lsp: %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.WARNING)
    condense_root()
    verbose = root.level == logging.DEBUG
    level = level or os.environ.get("RTK_LSP_LOG_LEVEL") or ("DEBUG" if verbose else "INFO")
    # Our INFO records must pass the logger itself to reach window/logMessage, whatever the root says.
    logging.getLogger("rtk_lsp").setLevel(level.upper() if isinstance(level, str) else level)
    json_rpc = logging.getLogger("pygls.protocol.json_rpc")
    if not any(isinstance(f, _QuietExpectedErrors) for f in json_rpc.filters):
        json_rpc.addFilter(_QuietExpectedErrors())


# ---- progress ----------------------------------------------------------------------------------


class _IndexProgress:
    """The work-done progress of one folder's index or refresh: created, begun, reported, ended once."""

    def __init__(self, server: RtkServer, folder: FolderState, token: str, verb: str = "indexing") -> None:
        self._server = server
        self._folder = folder
        self._token = token
        self._verb = verb
        self._begun = False
        self._ended = False
        self._end_message: str | None = None
        self._last: tuple[int, str] | None = None
        self._percent = 0

    async def start(self) -> None:
        try:
            await asyncio.wait_for(self._server.work_done_progress.create_async(self._token), CLIENT_TIMEOUT)
        except Exception as exc:  # the client refused or never answered: index without a bar
            logger.debug("no work-done progress: %s", exc)
            self._ended = True
            return
        name = os.path.basename(self._folder.root) or self._folder.root
        percent, message = self._state()
        self._server.work_done_progress.begin(
            self._token,
            types.WorkDoneProgressBegin(
                title=f"rtk: {self._verb} {name}", message=message, percentage=percent
            ),
        )
        self._begun = True
        if self._end_message is not None:
            self._send_end()

    def update(self) -> None:
        if not self._begun or self._ended:
            return
        percent, message = self._state()
        if (percent, message.split(" ")[0]) == self._last:
            return  # same whole percent in the same phase: not worth a message
        self._last = (percent, message.split(" ")[0])
        self._server.work_done_progress.report(
            self._token, types.WorkDoneProgressReport(message=message, percentage=percent)
        )

    def finish(self, message: str) -> None:
        self._end_message = message
        if self._begun:
            self._send_end()

    def _send_end(self) -> None:
        if not self._ended:
            self._ended = True
            self._server.work_done_progress.end(
                self._token, types.WorkDoneProgressEnd(message=self._end_message)
            )

    def _state(self) -> tuple[int, str]:
        folder = self._folder
        start = _PHASES.get(folder.phase, self._percent)
        following = [v for v in _PHASES.values() if v > start]
        span = (min(following) if following else 100) - start
        fraction = folder.done / folder.total if folder.total > 0 else 0.0
        self._percent = max(self._percent, min(100, int(start + span * min(1.0, fraction))))
        return self._percent, folder.progress_text()


def _totals(folder: FolderState, summary: dict[str, Any]) -> str:
    edges = summary.get("edges") or {}
    history = summary.get("history") or {}
    seconds = (folder.index_ms or 0) / 1000
    return (
        f"indexed {folder.root}: {summary.get('files', 0)} files, {summary.get('symbols', 0)} symbols, "
        f"{edges.get('imports', 0)} import and {edges.get('calls', 0)} call edges, "
        f"{history.get('commits', 0)} commits in {seconds:.1f}s"
    )


# ---- the server --------------------------------------------------------------------------------


class RtkServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "rtk-lsp",
            __version__,
            protocol_cls=RtkProtocol,
            converter_factory=rtk_converter,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
        )
        self.engine: Engine | None = None
        self.settings = Settings()
        self.log_handler = ClientLogHandler(self)
        self._base_settings = Settings()  # initializationOptions over defaults; pulled config goes on top
        self._warnings: list[str] = []
        self._progress: dict[str, _IndexProgress] = {}
        self._tokens = itertools.count(1)
        self._background = BackgroundTasks()
        self._register()

    def _register(self) -> None:
        handlers: dict[str, Callable[[Any], Any]] = {
            types.INITIALIZE: self.on_initialize,
            types.INITIALIZED: self.on_initialized,
            types.SHUTDOWN: self.on_shutdown,
            types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS: self.on_folders_changed,
            types.WORKSPACE_DID_CHANGE_CONFIGURATION: self.on_configuration_changed,
            types.WORKSPACE_DID_CHANGE_WATCHED_FILES: self.on_watched_files,
            types.TEXT_DOCUMENT_DID_OPEN: self.on_did_open,
            types.TEXT_DOCUMENT_DID_CHANGE: self.on_did_change,
            types.TEXT_DOCUMENT_DID_CLOSE: self.on_did_close,
            types.TEXT_DOCUMENT_DID_SAVE: self.on_did_save,
            PLAN_CONTEXT: self.plan_context,
            STATUS: self.status,
            REFRESH: self.refresh,
        }
        for method, handler in handlers.items():
            self.feature(method)(_plain_function(handler))

    def report_server_error(self, error: Exception, source: Any) -> None:
        # pygls would pop up a message for failed notifications; a log line is enough.
        if source is not FeatureRequestError:
            logger.error("error in server: %s", error)

    # ---- lifecycle ----------------------------------------------------------------------------

    def on_initialize(self, params: types.InitializeParams) -> None:
        settings, warnings = settings_from_json(
            _settings_payload(params.initialization_options), environment_settings()
        )
        self._base_settings = self.settings = settings
        self._warnings.extend(warnings)
        self.engine = Engine(settings)
        self.engine.subscribe(self._on_engine_event)
        folders = [(f.uri, f.name) for f in params.workspace_folders or []]
        if not folders and (params.root_uri or params.root_path):
            root_uri = params.root_uri or from_fs_path(params.root_path or "")
            folders = [(root_uri, "")]
        for uri, _name in folders:
            self._add_folder(uri, start=False)

    async def on_initialized(self, params: types.InitializedParams) -> None:
        self.log_handler.go_live(asyncio.get_running_loop())
        for warning in self._warnings:
            self._warn(warning)
        self._warnings.clear()
        self._run_task(self._start(), "start")

    async def _start(self) -> None:
        engine = self._engine()
        if self._client_has("workspace.configuration"):
            # Before the first index, so that `exclude` applies to it.
            await self._pull_configuration()
        for folder in engine.folders():
            self._index(folder)
        await self._register_watchers()
        if self.settings.http.enabled:
            self._run_task(self._start_http(), "http")

    async def on_shutdown(self, params: None) -> None:
        self._background.cancel_all()
        if self.engine is not None:
            await self.engine.close()
        self.log_handler.stop()

    def _index(self, folder: FolderState) -> None:
        engine = self._engine()
        if self._client_has("window.work_done_progress") and not folder.ready.done():
            progress = _IndexProgress(self, folder, f"rtk-index-{next(self._tokens)}")
            self._progress[folder.root] = progress
            self._run_task(progress.start(), f"progress {folder.root}")
        engine.start_indexing(folder)

    def _on_engine_event(self, folder: FolderState, event: str) -> None:
        progress = self._progress.get(folder.root)
        if event == "progress":
            if progress is not None:
                progress.update()
            return
        if event not in ("ready", "failed", "removed"):
            return
        if event == "ready":
            summary = self._engine().folder_status(folder)
            message = _totals(folder, summary)
            logger.info("%s", message)
        elif event == "failed":
            message = f"indexing {folder.root} failed: {folder.error}"
        else:
            message = "folder removed"
        if progress is not None:
            del self._progress[folder.root]
            progress.finish(message)

    async def _start_http(self) -> None:
        try:
            url = await start_http(self._engine(), self.settings)
        except Exception as exc:  # a taken port must not take the language server down
            logger.warning("HTTP endpoint not started: %s: %s", type(exc).__name__, exc)
            return
        if not url:
            return
        self._engine().set_http_url(url)
        self.protocol.notify(HTTP_READY, {"url": url, "port": urlparse(url).port})
        logger.info("HTTP endpoint at %s", url)

    # ---- workspace ----------------------------------------------------------------------------

    def _add_folder(self, uri: str, *, start: bool) -> FolderState | None:
        path = to_fs_path(uri)
        if not path or not uri.startswith("file:") or path_of(uri) is None:
            logger.warning("ignoring workspace folder %s: not a local folder", uri)
            return None
        folder = self._engine().add_folder(path, uri, start=False)
        if start:
            self._index(folder)
        return folder

    def on_folders_changed(self, params: types.DidChangeWorkspaceFoldersParams) -> None:
        engine = self._engine()
        for removed in params.event.removed:
            path = to_fs_path(removed.uri)
            if path and engine.remove_folder(path) is not None:
                logger.info("removed folder %s", path)
        for added in params.event.added:
            self._add_folder(added.uri, start=True)

    async def on_configuration_changed(self, params: types.DidChangeConfigurationParams) -> None:
        if self._client_has("workspace.configuration"):
            await self._pull_configuration()
            return
        raw = params.settings
        if isinstance(raw, Mapping) and "rtk" in raw:
            raw = raw["rtk"]
        self._apply_settings(raw)

    async def _pull_configuration(self) -> None:
        request = types.ConfigurationParams(items=[types.ConfigurationItem(section="rtk")])
        try:
            items = await asyncio.wait_for(self.workspace_configuration_async(request), CLIENT_TIMEOUT)
        except Exception as exc:
            logger.warning("could not read the client's rtk settings: %s: %s", type(exc).__name__, exc)
            return
        self._apply_settings(items[0] if items else None)

    def _apply_settings(self, raw: Any) -> None:
        settings, warnings = settings_from_json(raw, self._base_settings)
        for warning in warnings:
            self._warn(warning)
        if settings == self.settings:
            return
        if settings.http != self.settings.http:
            logger.info("rtk.http settings take effect when the server restarts")
        self.settings = settings
        self._engine().update_settings(settings)

    async def _register_watchers(self) -> None:
        if not self._client_has("workspace.did_change_watched_files.dynamic_registration"):
            return  # such clients tell us about saves only; plans still check git HEAD
        watchers = [
            types.FileSystemWatcher(glob_pattern=p) for p in ("**/*", "**/.git/HEAD", "**/.git/refs/**")
        ]
        registration = types.Registration(
            id="rtk-watched-files",
            method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
            register_options=types.DidChangeWatchedFilesRegistrationOptions(watchers=watchers),
        )
        try:
            await asyncio.wait_for(
                self.client_register_capability_async(types.RegistrationParams(registrations=[registration])),
                CLIENT_TIMEOUT,
            )
        except Exception as exc:
            logger.info("file watching not registered: %s: %s", type(exc).__name__, exc)

    def on_watched_files(self, params: types.DidChangeWatchedFilesParams) -> None:
        self._engine().notify_changed(change.uri for change in params.changes)

    def on_did_open(self, params: types.DidOpenTextDocumentParams) -> None:
        self._engine().set_overlay(params.text_document.uri, params.text_document.text)

    def on_did_change(self, params: types.DidChangeTextDocumentParams) -> None:
        uri = params.text_document.uri
        # pygls has applied the (full or incremental) changes to its copy already
        self._engine().set_overlay(uri, self.workspace.get_text_document(uri).source)

    def on_did_close(self, params: types.DidCloseTextDocumentParams) -> None:
        self._engine().set_overlay(params.text_document.uri, None)

    def on_did_save(self, params: types.DidSaveTextDocumentParams) -> None:
        self._engine().notify_changed([params.text_document.uri])

    # ---- rtk/* requests -----------------------------------------------------------------------

    async def plan_context(self, params: Any) -> dict[str, Any]:
        engine = self._engine()
        raw = _params_object(params, PLAN_CONTEXT)
        try:
            request = plan_request_from_json(raw, default_budget=self.settings.token_budget)
        except RequestError as exc:
            raise InvalidParams(
                f"{PLAN_CONTEXT}: {exc.field} {exc.message}", data={"field": exc.field}
            ) from exc
        folder = self._folder_param(raw)
        try:
            result = await engine.plan(folder, request, timeout=self.settings.plan_timeout, door="lsp")
        except EngineError as exc:
            raise _rpc_error(exc) from exc
        plan: dict[str, Any] = to_json(result)
        return plan

    async def status(self, params: Any) -> dict[str, Any]:
        return await self._engine().status_with_gain()

    async def refresh(self, params: Any) -> dict[str, Any]:
        engine = self._engine()
        folder = self._folder_param(_params_object(params, REFRESH))
        progress = None
        if self._client_has("window.work_done_progress") and folder.root not in self._progress:
            progress = _IndexProgress(self, folder, f"rtk-refresh-{next(self._tokens)}", verb="refreshing")
            self._progress[folder.root] = progress
            self._run_task(progress.start(), f"refresh progress {folder.root}")
        message = "refresh failed"
        try:
            entry = await engine.refresh(folder, full=True)
            message = f"refreshed {folder.root}: {entry.get('files', 0)} files"
            return entry
        except EngineError as exc:
            raise _rpc_error(exc) from exc
        finally:
            if progress is not None and self._progress.get(folder.root) is progress:
                del self._progress[folder.root]
                progress.finish(message)

    def _folder_param(self, raw: Mapping[str, Any]) -> FolderState:
        """The `workspace` named, else the folder of the active document `uri`, else the first folder."""
        engine = self._engine()
        workspace = raw.get("workspace")
        if workspace is not None:
            if not isinstance(workspace, str) or not workspace or _holds_nul(workspace):
                raise InvalidParams("workspace: must be a folder URI string", data={"field": "workspace"})
            try:
                return engine.resolve(workspace)
            except UnknownWorkspace as exc:
                raise _rpc_error(exc) from exc
        uri = raw.get("uri")
        if uri is not None:
            if not isinstance(uri, str) or _holds_nul(uri):
                raise InvalidParams("uri: must be a document URI string", data={"field": "uri"})
            folder = engine.folder_for(uri)
            if folder is not None:
                return folder
        folders = engine.folders()
        if not folders:
            raise RequestFailed("no workspace folder is open")
        return folders[0]

    # ---- helpers ------------------------------------------------------------------------------

    def _engine(self) -> Engine:
        if self.engine is None:
            raise JsonRpcServerNotInitialized("the server is not initialized")
        return self.engine

    def _client_has(self, dotted: str) -> bool:
        value: Any = getattr(self.protocol, "client_capabilities", None)
        for name in dotted.split("."):
            value = getattr(value, name, None)
            if value is None:
                return False
        return bool(value)

    def _warn(self, message: str) -> None:
        logger.warning("%s", message)
        self.window_show_message(
            types.ShowMessageParams(type=types.MessageType.Warning, message=f"rtk: {message}")
        )

    def _run_task(self, coro: Awaitable[Any], name: str) -> asyncio.Task[Any]:
        return self._background.spawn(coro, name)


def _plain_function(method: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """pygls tags handlers with attributes, which bound methods refuse: wrap each in a function."""
    if inspect.iscoroutinefunction(method):

        async def run_async(params: Any) -> Any:
            return await method(params)

        return run_async

    def run(params: Any) -> Any:
        return method(params)

    return run


def run_lsp(tcp: str | None = None) -> int:
    """Serve LSP on stdio (or on `tcp` "HOST:PORT" for debugging) until the client exits."""
    configure_logging()
    server = RtkServer()
    logging.getLogger("rtk_lsp").addHandler(server.log_handler)
    try:
        if tcp:
            host, _, port = tcp.rpartition(":")
            server.start_tcp(host or "127.0.0.1", int(port))
        else:
            server.start_io()
    finally:
        server.log_handler.stop()
        logging.getLogger("rtk_lsp").removeHandler(server.log_handler)
    code = 0 if server.protocol._shutdown else 1
    engine = server.engine
    if engine is not None:
        engine.close_sync()
        exit_if_stuck(engine, code)  # do not linger after the editor is gone
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rtk-lsp lsp", description="rtk-lsp language server")
    parser.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP instead of stdio (debugging)")
    args = parser.parse_args(argv)
    return run_lsp(args.tcp)


if __name__ == "__main__":
    # Run the importable copy of this module, so there is one RtkServer class and one set of globals.
    from rtk_lsp.server.lsp import main as _main

    raise SystemExit(_main())
