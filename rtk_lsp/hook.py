"""The Claude Code hook: put a context plan in front of every sub-agent's prompt, and note
which files the agent then read and edited.

Claude Code runs `python -m rtk_lsp.hook` on `PreToolUse` for the sub-agent tool (`Task`,
called `Agent` in newer releases) with the call as JSON on stdin. The hook asks a running
rtk-lsp server (found through its discovery file) for a plan of the prompt and answers
with the prompt rewritten as: marker line, the plan's Markdown `context`, end marker, the
original prompt. Unlike the reference's `rtk-mem-context.sh`:

- one budget: the server fits the context into `--budget` tokens minus what the markers
  cost, so the planned size is the injected size (the reference planned 2.4k tokens and
  injected up to 30k);
- one marker, emitted and checked by the same constant: a prompt that already carries it
  (a nested task, a retried call) is passed through, never injected twice;
- no daemon to start by hand: when no server serves the session's project, the hook starts
  `rtk-lsp serve --root <project> --idle-timeout 1800 --exclusive` detached (one per project:
  locks next to the discovery files), and answers this call through it only if the project
  has a warm store; the next calls find it warm;
- fail-open: a server still indexing, a timeout, bad input or any error means no output
  and exit 0, so the call goes on unchanged (RTK_LSP_HOOK_DEBUG=1 says why on stderr). It
  never computes a plan itself: that would cost seconds of indexing inside the hook's limit.

The same command runs on `PostToolUse` for the read, edit and write tools: the server
recorded the plan under the session id of the call that asked for it, so a file the agent
touches later in that session is recorded beside the plan (`observe`), if it lies in that
plan's root; `rtk-lsp gain` sums these up. Nothing is recorded for a session without a plan,
or with RTK_LSP_EPISODES=off. This path never starts a server and never builds an index: it
opens the root's episode log, writes one row and exits.

`update_settings` adds the hook to a Claude Code settings file (a backup is made first,
and a second install changes nothing); with `uninstall` it removes exactly what it added.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import time
from typing import TYPE_CHECKING, Any

from rtk_lsp.settings import DEFAULT_BUDGET

if TYPE_CHECKING:
    import argparse

    from rtk_lsp.index.episodes import OutcomeKind
    from rtk_lsp.plan.result import Detail

MARKER = "<!-- rtk-lsp:context -->"
END_MARKER = "<!-- /rtk-lsp:context -->"
TOOLS = ("Task", "Agent")
MATCHER = "Task|Agent"
READ_TOOLS = ("Read",)
EDIT_TOOLS = ("Edit", "MultiEdit", "Write", "NotebookEdit")
OUTCOME_MATCHER = "|".join((*READ_TOOLS, *EDIT_TOOLS))
# Each event the hook is installed for, and the tools it matches there.
EVENTS = {"PreToolUse": MATCHER, "PostToolUse": OUTCOME_MATCHER}
DEFAULT_DETAIL = "content"
HOOK_TIMEOUT = 10  # seconds Claude Code gives the hook
REQUEST_TIMEOUT = 6.0  # ours, inside that
INDEX_WAIT = 2.0  # seconds the server may wait for a first index before we give up
TIME_LIMIT = 8.0  # seconds for all of it, inside HOOK_TIMEOUT
SPAWN_LOCK_WAIT = 3.0  # seconds to wait for another hook starting a daemon, or for ours to lock
IDLE_TIMEOUT = 1800  # seconds a daemon started by the hook lives without a request
MAX_STDIN = 8 * 1024 * 1024
# of description + prompt: the planner condenses a long task itself and reads its tail too, where
# a traceback ends, so only a bound against pathological prompts is needed here
MAX_TASK_CHARS = 256 * 1024
MODULE = "rtk_lsp.hook"
# Imports are local to what needs them: the hook runs as a new process on every tool call it
# matches, and a PostToolUse call needs little more than SQLite.


def _header(budget: int) -> str:
    return (
        f"{MARKER}\n"
        f"The context below was planned by rtk-lsp for this task within {budget} tokens: the files and "
        "symbols most likely to matter, best first. Start there; read more only if it is not enough.\n\n"
    )


def _footer() -> str:
    return f"\n{END_MARKER}\n\n"


def _why(message: str) -> None:
    """Why the hook stays silent, on stderr, when RTK_LSP_HOOK_DEBUG is set."""
    if os.environ.get("RTK_LSP_HOOK_DEBUG"):
        print(f"rtk-lsp hook: {message}", file=sys.stderr)


def inject(
    payload: Any,
    budget: int,
    detail: Detail,
    cwd: str | None = None,
    time_limit: float = TIME_LIMIT,
    start: bool = True,
) -> dict[str, Any] | None:
    """The hook's answer for one PreToolUse payload, or None to let the call through unchanged."""
    from rtk_lsp.plan.request import PlanRequest, RequestError, parse_session
    from rtk_lsp.server.discovery import plan_via_running_server
    from rtk_lsp.tokens import estimate_tokens

    deadline = time.monotonic() + time_limit
    if not isinstance(payload, dict) or payload.get("tool_name") not in TOOLS:
        _why("not a sub-agent call")
        return None
    tool_input = payload.get("tool_input")
    if not isinstance(tool_input, dict):
        _why("the call has no tool_input")
        return None
    prompt = tool_input.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        _why("the sub-agent has no prompt")
        return None
    if MARKER in prompt:
        _why("the prompt already carries a plan")
        return None
    description = tool_input.get("description")
    task = "\n".join(t for t in (description, prompt) if isinstance(t, str) and t.strip())[:MAX_TASK_CHARS]
    where = payload.get("cwd") if isinstance(payload.get("cwd"), str) else None
    root = where or cwd or os.getcwd()
    header, footer = _header(budget), _footer()
    room = budget - estimate_tokens(header + footer)
    if room < 64:
        _why(f"a budget of {budget} tokens leaves no room for a plan")
        return None
    try:
        session = parse_session(payload.get("session_id"))  # what the agent does next attaches to it
    except RequestError:
        session = None
    if not _server_ready(root, deadline, start):
        return None
    left = deadline - time.monotonic()
    result = plan_via_running_server(
        root,
        PlanRequest(task.strip(), room, detail),
        timeout=max(0.5, min(REQUEST_TIMEOUT, left)),
        wait=max(0.0, min(INDEX_WAIT, left - 1.0)),
        session=session,
    )
    if result is None:
        _why(f"the server for {root} gave no plan (still indexing, busy, or failed; see its log)")
        return None
    if not result.get("selected"):
        _why("the plan selected nothing for this task")
        return None
    context = result.get("context")
    if not isinstance(context, str) or not context.strip():
        _why("the plan has no context")
        return None
    updated = dict(tool_input)
    updated["prompt"] = header + context.rstrip("\n") + "\n" + footer + prompt
    return {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": "allow",
            "permissionDecisionReason": (
                f"rtk-lsp: added a context plan of {len(result['selected'])} files "
                f"(~{result.get('budget_report', {}).get('estimated_used', '?')} tokens)"
            ),
            "updatedInput": updated,
        }
    }


def observe(payload: Any, cwd: str | None = None) -> int | None:
    """Record, for one PostToolUse payload, the file a read, edit or write tool touched beside
    the session's latest plan in a root holding that file; the episode's id, or None."""
    from rtk_lsp.index.episodes import EpisodeLog, roots_with_logs
    from rtk_lsp.paths import relative_inside, resolve_dirs
    from rtk_lsp.settings import environment_settings

    if not isinstance(payload, dict) or not isinstance(payload.get("tool_input"), dict):
        _why("not a tool call")
        return None
    tool = payload.get("tool_name")
    kind: OutcomeKind | None = "read" if tool in READ_TOOLS else "edit" if tool in EDIT_TOOLS else None
    session = payload.get("session_id")
    path = payload["tool_input"].get("file_path") or payload["tool_input"].get("notebook_path")
    if kind is None or not isinstance(session, str) or not session or not isinstance(path, str) or not path:
        _why("not a read, edit or write of a file in a session")
        return None
    if not environment_settings().episodes.enabled:
        _why("recording is off (RTK_LSP_EPISODES)")
        return None
    base = payload.get("cwd") if isinstance(payload.get("cwd"), str) else None
    full = resolve_dirs(os.path.join(base or cwd or os.getcwd(), path))
    for root in roots_with_logs(os.path.dirname(full)):
        rel = relative_inside(full, root)
        if rel is None:
            continue
        episodes = EpisodeLog(root, create=False)
        try:
            done = episodes.add_outcomes(session, kind, [rel], "hook")
        finally:
            episodes.close()
        if done is not None:
            return done[0]
    _why(f"no plan of this session was served for a root holding {full}")
    return None


def _server_ready(where: str, deadline: float, start: bool) -> bool:
    """True when a live server serves `where`, starting one (detached) when none does.

    A new daemon answers this call only if it has a warm store to load (a second or so);
    otherwise its first index would not finish inside the hook's time limit, so this call
    goes through unchanged and the next one finds the server warm.
    """
    from rtk_lsp.paths import db_path_for
    from rtk_lsp.server.discovery import project_top, servers_for, too_broad

    if servers_for(where):
        return True
    if not start:
        _why(f"no server serves {where} (and --no-start)")
        return False
    root = project_top(where)
    if too_broad(root):
        _why(f"no server serves {where}, and {root} is too broad to start one for")
        return False
    warm = os.path.exists(db_path_for(root))  # before the new daemon creates an empty one
    pid = start_server(root)
    started = f"started one (pid {pid})" if pid else "one is starting"
    if not warm:
        _why(f"no server served {root}; {started}; its first index is not built yet")
        return False
    while time.monotonic() < deadline - 1.0:
        if servers_for(where):
            return True
        time.sleep(0.05)
    _why(f"no server served {root}; {started}, but it was not up in time")
    return False


def start_server(root: str) -> int | None:
    """Start `rtk-lsp serve` for `root`, detached, unless one runs or is starting; its pid, or None.
    The hook and `rtk-lsp plan --daemon` both start their servers here.

    Starters take the "spawn" lock in turn; the daemon takes the "serve" lock for its whole life
    (and exits if another holds it), so racing starters start one daemon per root.
    """
    import subprocess

    from rtk_lsp.server.discovery import discovery_dir, lock_held, servers_for, take_lock

    fd = take_lock("spawn", root, wait=SPAWN_LOCK_WAIT)
    if fd is None:
        return None  # another hook is starting it now
    try:
        if servers_for(root) or lock_held("serve", root):
            return None
        log = os.path.join(discovery_dir(), f"serve-{os.path.basename(root) or 'root'}.log")
        command = [sys.executable, "-m", "rtk_lsp", "serve", "--root", root]
        with open(log, "ab") as err:
            proc = subprocess.Popen(
                [*command, "--idle-timeout", str(IDLE_TIMEOUT), "--exclusive"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                cwd=root,
                start_new_session=True,  # outlives the hook, and Claude Code's signals to it
            )
        # Hold our lock until the daemon holds its own, so that the next hook sees it starting.
        until = time.monotonic() + SPAWN_LOCK_WAIT
        while not lock_held("serve", root) and proc.poll() is None and time.monotonic() < until:
            time.sleep(0.02)
        return proc.pid
    finally:
        os.close(fd)


def run(argv: list[str] | None = None) -> int:
    """The hook process: stdin in, maybe one JSON object out, always exit 0."""
    try:
        raw = sys.stdin.buffer.read(MAX_STDIN + 1)
        if len(raw) > MAX_STDIN:
            return 0
        payload = json.loads(raw)
        if isinstance(payload, dict) and payload.get("hook_event_name") == "PostToolUse":
            observe(payload)  # needs none of the options
            return 0
        from rtk_lsp.plan.request import parse_budget

        args = _run_parser().parse_args(argv)
        budget = parse_budget(args.budget, DEFAULT_BUDGET, "--budget")
        answer = inject(payload, budget, args.detail, time_limit=args.time_limit, start=not args.no_start)
        if answer is not None:
            sys.stdout.write(json.dumps(answer, ensure_ascii=False))
            sys.stdout.flush()
    except BaseException as exc:  # fail-open, whatever happened (argparse exits included)
        _why(f"{type(exc).__name__}: {exc}")
    return 0


def _run_parser() -> argparse.ArgumentParser:
    import argparse

    from rtk_lsp.plan.request import DETAILS

    p = argparse.ArgumentParser(
        prog="python -m rtk_lsp.hook", description="Claude Code PreToolUse and PostToolUse hook"
    )
    p.add_argument(
        "--budget",
        type=int,
        default=DEFAULT_BUDGET,
        help=f"tokens for the whole injected block; 0 means the default (default {DEFAULT_BUDGET})",
    )
    p.add_argument("--detail", choices=DETAILS, default=DEFAULT_DETAIL, help=f"(default {DEFAULT_DETAIL})")
    p.add_argument(
        "--time-limit",
        type=float,
        default=TIME_LIMIT,
        metavar="SECONDS",
        help=f"answer within this long, or let the call through unchanged (default {TIME_LIMIT:g})",
    )
    p.add_argument("--no-start", action="store_true", help="never start a server; use a running one only")
    return p


# ---- install / uninstall -----------------------------------------------------------------------


def default_settings_path() -> str:
    return os.path.join(os.path.expanduser("~"), ".claude", "settings.json")


def hook_command(
    budget: int = DEFAULT_BUDGET, detail: str = DEFAULT_DETAIL, python: str | None = None
) -> str:
    # This interpreter: it is the one that has rtk_lsp installed.
    exe = python or sys.executable
    return f"{shlex.quote(exe)} -m {MODULE} --budget {budget} --detail {detail}"


def _is_ours(entry: Any) -> bool:
    command = entry.get("command") if isinstance(entry, dict) else None
    return isinstance(command, str) and (f"-m {MODULE}" in command or "rtk-context" in command)


def _without_ours(settings: dict[str, Any]) -> dict[str, Any]:
    out = _copy(settings)
    hooks = out.get("hooks")
    if not _ours(settings) or not isinstance(hooks, dict):
        return out  # nothing of ours: the user's file stays exactly as it was
    for event in EVENTS:
        if not isinstance(hooks.get(event), list):
            continue
        groups = []
        for group in hooks[event]:
            if isinstance(group, dict) and isinstance(group.get("hooks"), list):
                kept = [h for h in group["hooks"] if not _is_ours(h)]
                if not kept and group["hooks"]:
                    continue  # a group that held only our hook goes with it
                group = {**group, "hooks": kept}
            groups.append(group)
        if groups:
            hooks[event] = groups
        else:
            del hooks[event]
    if not hooks:
        del out["hooks"]
    return out


def _copy(settings: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(json.dumps(settings))
    return out


def _ours(settings: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(event, matcher, entry) of every hook of ours in the settings."""
    hooks = settings.get("hooks")
    if not isinstance(hooks, dict):
        return []
    return [
        (event, group.get("matcher"), entry)
        for event in EVENTS
        if isinstance(hooks.get(event), list)
        for group in hooks[event]
        if isinstance(group, dict) and isinstance(group.get("hooks"), list)
        for entry in group["hooks"]
        if _is_ours(entry)
    ]


def _with_ours(settings: dict[str, Any], command: str, outcomes: bool = True) -> dict[str, Any]:
    entry = {"type": "command", "command": command, "timeout": HOOK_TIMEOUT}
    events = EVENTS if outcomes else {"PreToolUse": MATCHER}
    if _ours(settings) == [(event, matcher, entry) for event, matcher in events.items()]:
        return _copy(settings)  # already there, wherever the user moved it
    out = _without_ours(settings)
    hooks = out.setdefault("hooks", {})
    if not isinstance(hooks, dict):
        raise ValueError('the settings\' "hooks" is not an object')
    for event, matcher in events.items():
        groups = hooks.setdefault(event, [])
        if not isinstance(groups, list):
            raise ValueError(f'the settings\' "hooks.{event}" is not a list')
        groups.append({"matcher": matcher, "hooks": [dict(entry)]})
    return out


def update_settings(
    path: str, *, command: str | None, uninstall: bool = False, outcomes: bool = True
) -> tuple[bool, str | None]:
    """Install (or with `uninstall`, remove) the hook in a settings file; without `outcomes`,
    for PreToolUse only.

    Returns (changed, backup path). Nothing is written when nothing changes. Raises
    ValueError for a settings file that is not a JSON object (it is left untouched).
    """
    from rtk_lsp.configfile import json_text, load_json, replace_file

    current = load_json(path)
    base = current if current is not None else {}
    if uninstall:
        wanted = _without_ours(base)
    else:
        assert command is not None
        wanted = _with_ours(base, command, outcomes)
    if wanted == base:
        return False, None
    return True, replace_file(path, json_text(wanted))


def cmd_install_hook(args: argparse.Namespace) -> int:
    path = os.path.expanduser(args.settings or default_settings_path())
    command = None if args.uninstall else (args.command or hook_command(args.budget, args.detail))
    try:
        outcomes = not args.no_outcomes
        changed, backup = update_settings(path, command=command, uninstall=args.uninstall, outcomes=outcomes)
    except (ValueError, OSError) as exc:
        print(f"rtk-lsp: error: {path}: {exc}", file=sys.stderr)
        return 1
    if not changed:
        print(f"{path}: {'no rtk-lsp hook to remove' if args.uninstall else 'hook already installed'}")
        return 0
    if backup:
        print(f"backed up {path} to {backup}")
    if args.uninstall:
        print(f"removed the rtk-lsp hook from {path}")
    else:
        events = f"PreToolUse ({MATCHER})" + (f", PostToolUse ({OUTCOME_MATCHER})" if outcomes else "")
        print(f"installed the rtk-lsp hook in {path}: {events}")
        print(f"  command: {command}")
        print(
            "  it uses the project's running rtk-lsp server, and starts one when none runs (--no-start: never)"
        )
        if outcomes:
            print(
                "  after a plan, it records which files the agent read and edited (rtk-lsp gain; --no-outcomes: never)"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(run())
