"""Recording the plans every door serves and what agents then read and edited.

The engine gives each plan it serves to its `Recorder`, which writes the episode on a thread
of its own: one per process, so writes keep their order (an MCP `expand` right after
`plan_context` finds its plan) and a slow or busy disk holds no plan up. `rtk-lsp plan`
computing in its own process records with `record_plan`. What is stored, and where: see
`rtk_lsp/index/episodes.py`.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from rtk_lsp.index.episodes import Episode, EpisodeLog, Gain, OutcomeKind, first_line, task_digest
from rtk_lsp.paths import relative_inside
from rtk_lsp.plan.result import Plan, SelectedFile
from rtk_lsp.settings import EpisodeSettings

__all__ = ["GAIN_DAYS", "RECORD_WAIT", "Outcome", "Recorder", "episode_of", "record_plan"]

log = logging.getLogger(__name__)

T = TypeVar("T")

RECORD_WAIT = 1.0  # seconds a plan with a session waits for its episode to be written (see Engine.plan)
MAX_QUEUED = 256  # writes waiting for the disk; more are dropped, with one warning
GAIN_DAYS = 7.0  # the window of the figures in rtk/status
# Of a task kept with keepTasks: tasks may be megabytes (a pasted log), 5,000 of them must not be.
KEPT_TASK_CHARS = 20_000
# Seconds the figures of rtk/status are reused (an editor polls it every second while indexing,
# and a full log takes some 0.1 s to sum up); this process's own writes renew them at once.
GAIN_REUSE = 10.0


def _whole_file_tokens(files: Mapping[str, Any], selected: SelectedFile) -> int:
    tokens = getattr(files.get(selected.rel_path), "tokens", None)
    return tokens if isinstance(tokens, int) else selected.estimated_tokens


def episode_of(
    plan: Plan,
    files: Mapping[str, Any],
    door: str,
    session: str | None,
    elapsed_ms: float,
    keep_task: bool,
    ts: float | None = None,
) -> Episode:
    """What is recorded of a plan served; `files` is the snapshot's (for whole-file costs)."""
    return Episode(
        ts=time.time() if ts is None else ts,
        root=plan.root,
        door=door,
        session=session,
        task_digest=task_digest(plan.task),
        task_line=first_line(plan.task),
        task=plan.task[:KEPT_TASK_CHARS] if keep_task else None,
        budget=plan.budget_report.token_budget,
        tokens=plan.budget_report.estimated_used,
        confidence=plan.confidence,
        elapsed_ms=elapsed_ms,
        selected=tuple((f.rel_path, f.estimated_tokens, _whole_file_tokens(files, f)) for f in plan.selected),
    )


def record_plan(
    plan: Plan, files: Mapping[str, Any], door: str, elapsed_ms: float, settings: EpisodeSettings
) -> int | None:
    """Record one plan now, in this thread (for a process that plans once and exits)."""
    if not settings.enabled:
        return None
    episodes = EpisodeLog(plan.root)
    try:
        return episodes.add(episode_of(plan, files, door, None, elapsed_ms, settings.keep_tasks))
    finally:
        episodes.close()


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of paths an agent reported (or a door saw it use)."""

    episode: int | None  # None: nothing recorded (no plan of this session here, or recording is off)
    recorded: int  # paths new to the episode
    outside: tuple[str, ...]  # paths outside the root, ignored
    note: str  # why nothing was recorded, when nothing was


class Recorder:
    """One writer thread for this process's episode logs (one per root)."""

    def __init__(self, settings: Callable[[], EpisodeSettings]) -> None:
        self._settings = settings
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="rtk-episodes")
        self._logs: dict[str, EpisodeLog] = {}  # the writer thread's alone, as is:
        self._gains: dict[str, tuple[float, tuple[Gain, str | None]]] = {}  # root -> (when, answer)
        self._queued = 0
        self._lock = threading.Lock()
        self._dropping = False

    @property
    def enabled(self) -> bool:
        return self._settings().enabled

    def plan(
        self,
        root: str,
        plan: Plan,
        files: Mapping[str, Any],
        door: str,
        session: str | None,
        elapsed_ms: float,
    ) -> concurrent.futures.Future[int | None] | None:
        """Record a plan served; None when recording is off or the writer is too far behind."""
        settings = self._settings()
        if not settings.enabled:
            return None
        now = time.time()

        def write() -> int | None:
            episode = episode_of(plan, files, door, session, elapsed_ms, settings.keep_tasks, now)
            self._gains.pop(root, None)
            return self._log(root).add(episode)

        return self._submit(write)

    def outcomes(
        self,
        root: str,
        session: str,
        source: str,
        read: Iterable[str] = (),
        edited: Iterable[str] = (),
    ) -> concurrent.futures.Future[Outcome] | None:
        """Attach paths (relative to `root`, or absolute) to the session's latest plan in `root`."""
        if not self._settings().enabled:
            return None
        read, edited = list(read), list(edited)

        def write() -> Outcome:
            outside: list[str] = []
            episodes = self._log(root)
            self._gains.pop(root, None)
            episode: int | None = None
            recorded = 0
            asked = False
            kinds: tuple[tuple[OutcomeKind, list[str]], ...] = (("edit", edited), ("read", read))
            for kind, paths in kinds:
                inside = []
                for path in paths:
                    rel = relative_inside(path, root)
                    if rel is None:
                        outside.append(path)
                    else:
                        inside.append(rel)
                if inside:
                    asked = True
                    done = episodes.add_outcomes(session, kind, inside, source)
                    if done is not None:
                        episode, added = done
                        recorded += added
            note = ""
            if episode is None and asked:
                note = episodes.unavailable or "no plan of this session in this workspace to attach it to"
            return Outcome(episode, recorded, tuple(outside), note)

        return self._submit(write)

    def gain(self, root: str, since: float) -> concurrent.futures.Future[tuple[Gain, str | None]] | None:
        """The root's figures since `since` (a time), and why recording stopped, if it did."""

        def read() -> tuple[Gain, str | None]:
            now = time.monotonic()
            kept = self._gains.get(root)
            if kept is not None and now - kept[0] < GAIN_REUSE:
                return kept[1]
            episodes = self._log(root)
            answer = episodes.gain(since), episodes.unavailable
            self._gains[root] = (now, answer)
            return answer

        return self._submit(read)

    def close(self, timeout: float) -> None:
        """Finish the writes queued (waiting at most `timeout` seconds) and close the logs."""

        def close_all() -> None:
            for episodes in self._logs.values():
                episodes.close()

        try:
            last = self._executor.submit(close_all)
        except RuntimeError:
            return
        self._executor.shutdown(wait=False)
        concurrent.futures.wait([last], timeout=timeout)

    # ---- the writer thread -----------------------------------------------------------------------

    def _log(self, root: str) -> EpisodeLog:
        episodes = self._logs.get(root)
        if episodes is None:
            episodes = self._logs[root] = EpisodeLog(root)
        return episodes

    def _submit(self, fn: Callable[[], T]) -> concurrent.futures.Future[T] | None:
        with self._lock:
            if self._queued >= MAX_QUEUED:
                if not self._dropping:
                    log.warning(
                        "the episode log is %d writes behind; dropping episodes until it catches up",
                        MAX_QUEUED,
                    )
                self._dropping = True
                return None
            self._dropping = False
            self._queued += 1

        def run() -> T:
            try:
                return fn()
            finally:
                with self._lock:
                    self._queued -= 1

        try:
            return self._executor.submit(run)
        except RuntimeError:  # shut down: the process is closing
            with self._lock:
                self._queued -= 1
            return None
