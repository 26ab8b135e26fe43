"""The MCP tools, over the engine: plan_context, expand, find_symbol, workspace_status, report_outcome.

Transport-neutral: a `Backend` says which workspace folder a call means, how long a plan
may wait for a first index, and how plans are admitted (the HTTP door's bounded queue).
`build_server(backend)` returns an `MCPServer` with every tool of `TOOLS`; adding a tool
is one function and one `ToolSpec` line.

Every anticipated failure (a bad argument, an unknown path, an index still building)
is raised as `ToolError`: the client gets `isError: true` with the message, the model
reads it and corrects itself, and the server goes on.

Each client connection gets a name in the episode log (rtk_lsp/recording.py): its plans are
recorded under it, and what it then opens with `expand` or reports with `report_outcome`
attaches to its latest plan. (The SDK makes a new session object per request, so the name
comes from the connection: the MCP session id over HTTP, the process over stdio.)
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from importlib import resources
from typing import Annotated, Any, Protocol, TypeVar

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field, ValidationError
from typing_extensions import TypedDict

from rtk_lsp import __version__
from rtk_lsp.engine import Engine, EngineError, FolderState, IndexNotReady
from rtk_lsp.plan import lookup
from rtk_lsp.plan.pipeline import ReadSource
from rtk_lsp.plan.request import MAX_TASK_CHARS, PlanRequest, RequestError, parse_budget, parse_task
from rtk_lsp.plan.result import Detail as PlanDetail
from rtk_lsp.plan.result import to_json
from rtk_lsp.settings import DEFAULT_BUDGET, MAX_BUDGET

T = TypeVar("T")

MAX_REPORTED = 1000  # paths in one report_outcome list
PROGRESS_TICK = 0.5  # seconds between progress notifications while a call waits for a first index
PLAN_SCHEMA_FILE = "plan-context.schema.json"

INSTRUCTIONS = (
    "rtk-lsp knows this workspace: its files, symbols, imports, calls and git history, kept warm. "
    "Before reading files for a coding task, call plan_context with the task in words: it answers "
    "which files and symbols matter, best first, within a token budget. Then open only what it "
    "points at with expand (symbols or line ranges), and look names up with find_symbol. When the "
    "task is done, report_outcome with the files you edited and read tells rtk-lsp whether its plan "
    "was right."
)


class Backend(Protocol):
    """What a transport provides to the tools."""

    @property
    def engine(self) -> Engine: ...

    @property
    def wait_timeout(self) -> float:
        """Seconds a call waits for a folder's first index before answering "still indexing"."""

    @property
    def roots_from(self) -> str:
        """How the served roots were chosen, for workspace_status."""

    async def folder(self, root: str | None) -> FolderState:
        """The folder a call means (`root`: a served root or a directory inside one); ToolError if none."""

    def admit(self, folder: FolderState, request: PlanRequest) -> AbstractContextManager[None]:
        """Hold a place in the plan queue for the call; ToolError when the server is overloaded."""


# ---- output schemas -------------------------------------------------------------------------------


class ExpandBlock(TypedDict):
    name: str
    kind: str
    start_line: int
    end_line: int
    text: str
    truncated: bool


class ExpandResult(TypedDict):
    root: str
    path: str
    language: str
    lines: int
    budget: int
    estimated_tokens: int
    truncated: bool
    blocks: list[ExpandBlock]


class Definition(TypedDict):
    path: str
    name: str
    kind: str
    start_line: int
    end_line: int
    signature: str


class Reference(TypedDict):
    path: str
    count: int
    lines: list[int]


class SymbolResult(TypedDict):
    root: str
    name: str
    definitions: list[Definition]
    references: list[Reference]
    reference_files: int
    suggestions: list[str]


class OutcomeResult(TypedDict):
    root: str
    recorded: int
    attached: bool
    outside: list[str]
    note: str


class StatusResult(TypedDict):
    version: str
    roots_from: str
    folders: list[dict[str, Any]]


def plan_schema() -> dict[str, Any]:
    """The plan object's JSON Schema, as the package ships it (generated from rtk_lsp/plan/result.py)."""
    shipped = resources.files("rtk_lsp").joinpath("schema", PLAN_SCHEMA_FILE)
    schema: dict[str, Any] = json.loads(shipped.read_text(encoding="utf-8"))
    return schema


# ---- the tools ------------------------------------------------------------------------------------

Task = Annotated[
    str,
    Field(
        description="The coding task in words, as you would tell a colleague: a bug report, a feature "
        "request, an error message or a question about the code. Name identifiers and paths if you know them.",
        min_length=1,
        max_length=MAX_TASK_CHARS,
    ),
]
Budget = Annotated[
    int,
    Field(
        description=f"Tokens for the whole answer (the Markdown context); 0 means the default ({DEFAULT_BUDGET}). "
        "Larger budgets list more files.",
        ge=0,
        le=MAX_BUDGET,
    ),
]
Detail = Annotated[
    PlanDetail,
    Field(
        description="paths: files only; symbols: files, why, and the relevant definitions with line "
        "ranges (default); content: also the source of those definitions, cut to fit."
    ),
]
Root = Annotated[
    str | None,
    Field(
        description="Absolute path of the workspace (or a directory inside it). Omit it to use the "
        "workspace this server was started for."
    ),
]


class Tools:
    """The tool functions of one server, bound to its backend."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        # stdio: one client per process, so one name per server
        self._connection = f"mcp-{uuid.uuid4().hex[:12]}"

    def _session(self, ctx: Context) -> str:
        """This client's name in the episode log: over HTTP, from its MCP session id (hashed: the
        id is the session's key); over stdio, the server's own."""
        headers = ctx.headers
        given = headers.get("mcp-session-id") if headers is not None else None
        if given:
            return "mcp-" + hashlib.sha256(given.encode("utf-8", "replace")).hexdigest()[:12]
        return self._connection

    async def plan_context(
        self,
        ctx: Context,
        task: Task,
        budget: Budget = DEFAULT_BUDGET,
        detail: Detail = "symbols",
        root: Root = None,
    ) -> CallToolResult:
        try:
            request = PlanRequest(parse_task(task), parse_budget(budget, DEFAULT_BUDGET), detail)
        except RequestError as exc:
            raise ToolError(str(exc)) from None
        folder = await self.backend.folder(root)
        # A plan waiting for the first index holds its place in the queue, as over HTTP.
        with self.backend.admit(folder, request):
            waited = await self._wait_for_index(folder, ctx)
            planned = self.backend.engine.plan(
                folder, request, timeout=0, door="mcp", session=self._session(ctx)
            )
            result = await self._engine_call(planned, waited)
        # The same object as HTTP and the CLI: one serialisation of the plan.
        plan: dict[str, Any] = to_json(result)
        text = plan["context"] if plan["selected"] else _nothing_selected(plan)
        return CallToolResult(content=[TextContent(text=text)], structured_content=plan)

    async def expand(
        self,
        ctx: Context,
        path: Annotated[
            str,
            Field(
                description="The file, relative to the workspace root (as plan_context lists it) or absolute."
            ),
        ],
        symbols: Annotated[
            list[str] | None,
            Field(
                description='Definitions to show, e.g. ["InvoiceCalculator.apply_discount", "tax_for"]; '
                "a bare name matches methods of any class."
            ),
        ] = None,
        start_line: Annotated[int | None, Field(description="First line to show (1-based).", ge=1)] = None,
        end_line: Annotated[int | None, Field(description="Last line to show (inclusive).", ge=1)] = None,
        budget: Annotated[
            int,
            Field(
                description="Tokens for the answer; longer code is cut. "
                f"0 means the default ({lookup.DEFAULT_EXPAND_BUDGET}).",
                ge=0,
                le=MAX_BUDGET,
            ),
        ] = lookup.DEFAULT_EXPAND_BUDGET,
        root: Root = None,
    ) -> Annotated[CallToolResult, ExpandResult]:
        tokens = parse_budget(budget, lookup.DEFAULT_EXPAND_BUDGET)

        def run(snapshot: Any, read: ReadSource) -> dict[str, Any]:
            return lookup.expand(snapshot, read, path, symbols or (), start_line, end_line, tokens)

        folder = await self.backend.folder(root)
        result = await self._query(ctx, folder, run)
        # What the agent opens after a plan is what the plan is judged by.
        await self.backend.engine.record_outcome(folder, self._session(ctx), "mcp", read=[result["path"]])
        return CallToolResult(
            content=[TextContent(text=lookup.render_expansion(result))], structured_content=result
        )

    async def find_symbol(
        self,
        ctx: Context,
        name: Annotated[
            str,
            Field(
                description='An identifier as written in code: "apply_discount", or qualified '
                '"InvoiceCalculator.apply_discount". Exact and case-sensitive.',
                min_length=1,
            ),
        ],
        root: Root = None,
    ) -> Annotated[CallToolResult, SymbolResult]:
        folder = await self.backend.folder(root)
        result = await self._query(ctx, folder, lambda snapshot, _read: lookup.find_symbol(snapshot, name))
        return CallToolResult(
            content=[TextContent(text=lookup.render_symbol(result))], structured_content=result
        )

    async def report_outcome(
        self,
        ctx: Context,
        paths_edited: Annotated[
            list[str] | None,
            Field(
                description="Files you changed or created, relative to the workspace root or absolute.",
                max_length=MAX_REPORTED,
            ),
        ] = None,
        paths_read: Annotated[
            list[str] | None,
            Field(description="Files you read (whole or in part).", max_length=MAX_REPORTED),
        ] = None,
        root: Root = None,
    ) -> Annotated[CallToolResult, OutcomeResult]:
        if not paths_edited and not paths_read:
            raise ToolError("give paths_edited or paths_read (or both)")
        folder = await self.backend.folder(root)
        outcome = await self.backend.engine.record_outcome(
            folder, self._session(ctx), "mcp", read=paths_read or (), edited=paths_edited or ()
        )
        if outcome is None:
            result = OutcomeResult(
                root=folder.root,
                recorded=0,
                attached=False,
                outside=[],
                note="recording is off here (rtk.episodes.enabled, RTK_LSP_EPISODES): nothing was kept",
            )
        else:
            result = OutcomeResult(
                root=folder.root,
                recorded=outcome.recorded,
                attached=outcome.episode is not None,
                outside=list(outcome.outside),
                note=outcome.note,
            )
        return CallToolResult(
            content=[TextContent(text=_render_outcome(result))], structured_content=dict(result)
        )

    async def workspace_status(self) -> Annotated[CallToolResult, StatusResult]:
        status = self.backend.engine.status()
        result = {
            "version": status["version"],
            "roots_from": self.backend.roots_from,
            "folders": status["folders"],
        }
        return CallToolResult(
            content=[TextContent(text=_render_status(result))],
            structured_content=json.loads(json.dumps(result)),
        )

    # ---- plumbing -------------------------------------------------------------------------------

    async def _query(
        self, ctx: Context, folder: FolderState, fn: Callable[[Any, ReadSource], dict[str, Any]]
    ) -> dict[str, Any]:
        waited = await self._wait_for_index(folder, ctx)
        try:
            return await self._engine_call(self.backend.engine.query(folder, fn, timeout=0), waited)
        except lookup.LookupFailed as exc:
            raise ToolError(str(exc)) from None

    async def _engine_call(self, call: Awaitable[T], waited: float) -> T:
        try:
            return await call
        except IndexNotReady as exc:
            progress = exc.progress
            raise ToolError(
                f"still indexing ({_progress_text(progress)}) after waiting {waited:.0f}s; "
                "try again in a few seconds"
            ) from None
        except EngineError as exc:
            raise ToolError(str(exc)) from None

    async def _wait_for_index(self, folder: FolderState, ctx: Context) -> float:
        """Wait up to the backend's limit for a first index, reporting progress; returns seconds waited."""
        started = time.monotonic()
        deadline = started + self.backend.wait_timeout
        last = ""
        step = 0
        while not folder.ready.done():
            text = f"indexing {folder.root}: {folder.progress_text()}"
            if text != last:  # a client that sent a progress token sees each phase move
                step += 1
                last = text
                with contextlib.suppress(Exception):  # progress is a courtesy; the call goes on
                    await ctx.report_progress(step, None, text)
            left = deadline - time.monotonic()
            if left <= 0:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(folder.ready), min(PROGRESS_TICK, left))
        return time.monotonic() - started


def _progress_text(progress: dict[str, Any]) -> str:
    phase, done, total = (
        progress.get("phase") or "starting",
        progress.get("done", 0),
        progress.get("total", 0),
    )
    return f"{phase} {done}/{total}" if total and total > 1 else str(phase)


def _nothing_selected(plan: dict[str, Any]) -> str:
    return (
        f"rtk-lsp found nothing in {plan['root']} relevant enough to this task to fit "
        f"{plan['budget_report']['token_budget']} tokens ({plan['verdict']}). Rephrase it with names "
        "of files, functions or error messages, or search the code yourself."
    )


def _render_outcome(result: OutcomeResult) -> str:
    if result["attached"]:
        text = f"recorded {result['recorded']} new paths with this session's plan in {result['root']}"
    else:
        text = f"nothing recorded: {result['note']}"
    if result["outside"]:
        text += (
            f"; ignored {len(result['outside'])} outside the workspace: {', '.join(result['outside'][:5])}"
        )
    return text + "\n"


def _render_status(result: dict[str, Any]) -> str:
    lines = [f"rtk-lsp {result['version']} (roots: {result['roots_from']})"]
    if not result["folders"]:
        lines.append("no workspace yet")
    for f in result["folders"]:
        line = f"- {f['root']}: {f['state']}"
        if f["state"] == "indexing":
            line += f" ({_progress_text(f.get('progress') or {})})"
        if f.get("error"):
            line += f", error: {f['error']}"
        if "files" in f:
            langs = ", ".join(f"{k} {v}" for k, v in list(f.get("languages", {}).items())[:6])
            history = f.get("history") or {}
            line += (
                f"; {f['files']} files ({langs}), {f.get('symbols', 0)} symbols, "
                f"{history.get('commits', 0)} commits of history"
            )
        lines.append(line)
    return "\n".join(lines) + "\n"


# ---- the registry ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ToolSpec:
    name: str
    title: str
    description: str
    output_schema: Callable[[], dict[str, Any]] | None = None  # when the return type does not say it
    read_only: bool = True  # false: the tool records something (never in the workspace)


TOOLS: Sequence[ToolSpec] = (
    ToolSpec(
        "plan_context",
        "Plan the context for a task",
        "Start here for any coding task in this workspace (fix, feature, refactor, question). Given the task "
        "in words, returns which files and symbols belong in your context, best first, with why each was "
        "chosen and line ranges, fitted to a token budget: ranked from names in the task, imports and calls, "
        "and git history (what changed together, similar past commits). Read the answer before opening files; "
        "then use expand to open the symbols it names. Structured output: the full plan object.",
        plan_schema,
    ),
    ToolSpec(
        "expand",
        "Open symbols or lines of a file",
        "Show the source of specific definitions (symbols) or a line range of one file, within a token "
        "budget: use it to open exactly what plan_context pointed at, instead of reading whole files.",
    ),
    ToolSpec(
        "find_symbol",
        "Find where a name is defined and used",
        "Where an identifier (function, class, method, constant) is defined, with signature and line "
        "range, and which files reference it, from the index. Faster and more precise than grep for names.",
    ),
    ToolSpec(
        "workspace_status",
        "Index status",
        "What this rtk-lsp server has indexed: workspace roots, files per language, symbols, git history, "
        "and whether the first index is still being built (with progress).",
    ),
    ToolSpec(
        "report_outcome",
        "Report which files the task needed",
        "When a task that began with plan_context is done, report the files you edited and the files you "
        "read. rtk-lsp keeps them beside the plan, on this machine, to measure whether its plans choose the "
        "right files (`rtk-lsp gain`). Optional; it changes no file. expand calls count as reads already.",
        read_only=False,
    ),
)


class _Tool(Tool):
    """A tool whose argument errors read as one line per field, for a model to correct."""

    async def run(self, arguments: dict[str, Any], context: Any, convert_result: bool = False) -> Any:
        try:
            return await super().run(arguments, context, convert_result)
        except ToolError as exc:
            cause = exc.__cause__
            if not isinstance(cause, ValidationError):
                raise
            problems = "; ".join(_field_error(e) for e in cause.errors())
            raise ToolError(f"invalid arguments for {self.name}: {problems}") from cause


def _field_error(error: Any) -> str:
    where = ".".join(str(part) for part in error["loc"]) or "arguments"
    if error["type"] == "missing":
        return f"{where}: is required"
    return f"{where}: {error['msg']} (got {error['input']!r:.80})"


def build_server(backend: Backend, middleware: Sequence[Any] = ()) -> MCPServer[Any]:
    tools = Tools(backend)
    registered: list[Tool] = []
    for spec in TOOLS:
        tool = _Tool.from_function(
            getattr(tools, spec.name),
            name=spec.name,
            title=spec.title,
            description=spec.description,
            annotations=ToolAnnotations(
                title=spec.title, read_only_hint=spec.read_only, idempotent_hint=True, open_world_hint=False
            ),
        )
        if spec.output_schema is not None:
            # Published as given; the SDK validates only schemas it derived itself.
            tool.fn_metadata.output_schema = spec.output_schema()
        registered.append(tool)
    return MCPServer(
        "rtk-lsp",
        title="rtk-lsp: context plans for coding tasks",
        instructions=INSTRUCTIONS,
        version=__version__,
        tools=registered,
        middleware=list(middleware),
        log_level="WARNING",
    )
