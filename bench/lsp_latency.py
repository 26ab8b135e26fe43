"""Round-trip latency of rtk/planContext over stdio against plan() in-process, on one tree.

    python bench/lsp_latency.py ROOT [--n 100] [--cache DIR] [--json OUT]

1. Starts the real server (`python -m rtk_lsp.server.lsp`) with a fresh cache, sends
   initialize, and times initialize -> the end of the first index ($/progress end).
2. Warms up, then sends N varied plan requests one at a time (tasks from the tree's own
   commit subjects, budgets 2000/4000/8000) and times each round trip, next to the
   plan's own time inside the server (`stats.elapsed_ms.total`).
3. Loads the same root in this process (from the cache the server wrote) and times
   plan() on the same requests, interleaved with the round trips so that a busy machine
   weighs on both alike.
Target: round trip p50 and p95 <= 1.5 x in-process + 5 ms.

    python bench/lsp_latency.py ROOT --first-answer RUNS [--baseline DIR] [--switch REV]

Instead, RUNS cold starts of the server on a worktree of ROOT, each on a fresh cache: from
initialize to the end of the first index, then the first plan (asked --pause seconds later,
default 2) and the slowest of the next four; with --switch, HEAD then moves to REV and the
next plan (which finds it moved, refreshes and plans) is timed, and the four after it. With
--baseline, the server of the checkout at DIR starts as often, alternating, and the table
gives the ratio of medians.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BUDGETS = (2000, 4000, 8000)


class StdioClient:
    """Just enough JSON-RPC over stdio to drive the server without client-side overhead."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.next_id = 0
        self.waiting: dict[int, asyncio.Future[Any]] = {}
        self.progress_ended = asyncio.Event()
        self.logs: list[str] = []
        self.reader = asyncio.create_task(self._read())

    def _write(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    async def request(self, method: str, params: Any) -> Any:
        self.next_id += 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.waiting[self.next_id] = future
        self._write({"id": self.next_id, "method": method, "params": params})
        return await future

    def notify(self, method: str, params: Any) -> None:
        self._write({"method": method, "params": params})

    async def _read(self) -> None:
        stdout = self.proc.stdout
        assert stdout is not None
        while True:
            length = 0
            while True:
                line = await stdout.readline()
                if not line:
                    return
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
                elif line in (b"\r\n", b"\n"):
                    break
            message = json.loads(await stdout.readexactly(length))
            if "method" in message and "id" in message:  # a request from the server
                result: Any = (
                    [None] * len(message["params"]["items"])
                    if message["method"] == ("workspace/configuration")
                    else None
                )
                self._write({"id": message["id"], "result": result})
            elif "method" in message:
                if message["method"] == "$/progress" and message["params"]["value"]["kind"] == "end":
                    self.progress_ended.set()
                elif message["method"] == "window/logMessage":
                    self.logs.append(message["params"]["message"])
            elif message.get("id") in self.waiting:
                future = self.waiting.pop(message["id"])
                if "error" in message:
                    future.set_exception(RuntimeError(message["error"]))
                else:
                    future.set_result(message.get("result"))


def tasks_for(root: Path, n: int) -> list[str]:
    """Commit subjects make realistic, varied tasks; file stems fill in for short histories."""
    try:
        out = subprocess.run(
            ["git", "log", "--no-merges", "--format=%s", "-n", str(n * 4)],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        subjects = [s for s in dict.fromkeys(out.splitlines()) if len(s.split()) >= 3]
    except (OSError, subprocess.CalledProcessError):
        subjects = []
    if len(subjects) < n:
        files = subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True).stdout.split()
        subjects += [f"fix the bug in {Path(f).stem} handling" for f in files[: n - len(subjects)]]
    return subjects[:n]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class InProcess:
    """The same root loaded in this process, from the cache the server just wrote."""

    def __init__(self, root: Path, cache: str) -> None:
        os.environ["RTK_LSP_CACHE_DIR"] = cache
        sys.path.insert(0, str(REPO))
        from rtk_lsp.plan.request import PlanRequest
        from rtk_lsp.planning import build_snapshot, plan_snapshot
        from rtk_lsp.settings import Settings

        self._plan = plan_snapshot
        self._request = PlanRequest
        t0 = time.perf_counter()
        self.snapshot = build_snapshot(str(root), Settings())
        self.load_s = time.perf_counter() - t0

    def time_plan(self, r: dict[str, Any]) -> float:
        t = time.perf_counter()
        self._plan(self.snapshot, self._request(r["task"], r["budget"]))
        return (time.perf_counter() - t) * 1000


async def start_server(root: Path, cache: str, code: Path = REPO) -> tuple[StdioClient, float]:
    """The server of the checkout at `code` on a cold `cache`, initialized on `root`, and the
    seconds from initialize to the end of its first index."""
    # Every start compiles its sources afresh, whichever checkout it runs: a checkout's stale
    # __pycache__ (kept stale by PYTHONDONTWRITEBYTECODE) cost its server 10-20% in index-ready.
    env = {
        **os.environ,
        "RTK_LSP_CACHE_DIR": cache,
        "PYTHONPATH": str(code),
        "PYTHONPYCACHEPREFIX": os.path.join(cache, "pycache"),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "rtk_lsp.server.lsp",
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        limit=64 * 1024 * 1024,
    )
    client = StdioClient(proc)
    t0 = time.perf_counter()
    await client.request(
        "initialize",
        {
            "processId": os.getpid(),
            "rootUri": root.as_uri(),
            "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}],
            "capabilities": {"window": {"workDoneProgress": True}},
            "initializationOptions": {"http": {"enabled": False}},
        },
    )
    client.notify("initialized", {})
    await asyncio.wait_for(client.progress_ended.wait(), 1800)
    return client, time.perf_counter() - t0


async def stop_server(client: StdioClient) -> None:
    await client.request("shutdown", None)
    client.notify("exit", None)
    await asyncio.wait_for(client.proc.wait(), 30)
    client.reader.cancel()


async def measure(root: Path, cache: str, requests: list[dict[str, Any]], warmup: int) -> dict[str, Any]:
    client, index_s = await start_server(root, cache)
    local = InProcess(root, cache)

    for r in requests[:warmup]:
        warm = {**r, "task": r["task"] + " (warm-up)"}
        await client.request("rtk/planContext", warm)
        local.time_plan(warm)
    # Interleaved, so that the load of a shared machine weighs on both sides alike.
    round_trips: list[float] = []
    server_ms: list[float] = []
    in_process: list[float] = []
    for r in requests[warmup:]:
        t = time.perf_counter()
        result = await client.request("rtk/planContext", r)
        round_trips.append((time.perf_counter() - t) * 1000)
        server_ms.append(result["stats"]["elapsed_ms"]["total"])
        in_process.append(local.time_plan(r))
    status = await client.request("rtk/status", {})
    await stop_server(client)
    return {
        "index_s": index_s,
        "warm_load_s": local.load_s,
        "round_trip_ms": round_trips,
        "plan_ms_in_server": server_ms,
        "plan_ms_in_process": in_process,
        "status": status,
    }


async def _timed_plan(client: StdioClient, task: str) -> float:
    t = time.perf_counter()
    await client.request("rtk/planContext", {"task": task})
    return (time.perf_counter() - t) * 1000


def _checkout(tree: Path, rev: str) -> None:
    subprocess.run(["git", "-C", str(tree), "checkout", "-q", "--detach", rev], check=True)


async def first_answers(
    tree: Path, code: Path, tasks: list[str], switch_to: str | None, pause: float
) -> dict[str, float]:
    """One cold start of the server of the checkout at `code` on `tree`: how long its first plan
    takes, asked `pause` seconds after the index is ready (as a person or an agent would ask),
    and, with `switch_to`, how long a plan takes that finds HEAD moved there."""
    with tempfile.TemporaryDirectory(prefix="rtk-bench-cache-") as cache:
        client, ready_s = await start_server(tree, cache, code)
        head = None  # where to check the tree out again, once the server is gone
        try:
            await asyncio.sleep(pause)
            out = {
                "ready_s": ready_s,
                "first_ms": await _timed_plan(client, tasks[0]),
                "next_max_ms": max([await _timed_plan(client, t) for t in tasks[1:5]]),
            }
            if switch_to:
                head = subprocess.run(
                    ["git", "-C", str(tree), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
                ).stdout.strip()
                _checkout(tree, switch_to)
                out["switch_ms"] = await _timed_plan(client, tasks[5])
                out["switch_next_max_ms"] = max([await _timed_plan(client, t) for t in tasks[6:10]])
        finally:
            await stop_server(client)
            if head is not None:
                _checkout(tree, head)
    return out


FIRST_ROWS = (
    ("ready_s", "initialize -> first index ready", "s"),
    ("first_ms", "the first plan, asked a moment after", "ms"),
    ("next_max_ms", "slowest of the next 4 plans", "ms"),
    ("switch_ms", "HEAD moved -> a plan answered (switch and plan)", "ms"),
    ("switch_next_max_ms", "slowest of the next 4 plans after it", "ms"),
)


def report_first_answers(
    root: Path, runs: int, baseline: Path | None, switch_to: str | None, pause: float
) -> None:
    """Cold starts of this checkout's server, alternating with the baseline's when given."""
    tasks = tasks_for(root, 10)
    codes = [REPO] if baseline is None else [REPO, baseline]
    results: dict[Path, list[dict[str, float]]] = {c: [] for c in codes}
    with tempfile.TemporaryDirectory(prefix="rtk-bench-tree-") as parent:
        tree = Path(parent) / root.name  # a worktree: the switch must not touch `root`
        subprocess.run(["git", "-C", str(root), "worktree", "add", "-q", "--detach", str(tree)], check=True)
        try:
            for run in range(runs):
                for code in codes if run % 2 == 0 else codes[::-1]:
                    results[code].append(asyncio.run(first_answers(tree, code, tasks, switch_to, pause)))
        finally:
            subprocess.run(["git", "-C", str(root), "worktree", "remove", "--force", str(tree)], check=False)
    print(
        f"root {root}: cold starts of the server, medians of {runs}; the first plan {pause:g} s after ready"
        + (f"; switch to {switch_to}" if switch_to else "")
    )
    head = "| measure | this checkout |" + (" baseline | ratio |" if baseline else "")
    print(head)
    print("|---" * (head.count("|") - 1) + "|")
    for key, label, unit in FIRST_ROWS:
        if key not in results[REPO][0]:
            continue
        ours = statistics.median(r[key] for r in results[REPO])
        row = f"| {label} | {ours:.2f} {unit} |"
        if baseline is not None:
            theirs = statistics.median(r[key] for r in results[baseline])
            row += f" {theirs:.2f} {unit} | {ours / theirs:.2f}x |"
        print(row)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("root", type=Path)
    parser.add_argument("--n", type=int, default=100, help="timed requests (default 100)")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument(
        "--cache", help="cache directory (default: a fresh temporary one, so the index is cold)"
    )
    parser.add_argument("--json", type=Path, help="also write the raw numbers here")
    parser.add_argument(
        "--first-answer",
        type=int,
        metavar="RUNS",
        help="instead: RUNS cold starts, timing the first plans after the index is ready",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="DIR",
        help="with --first-answer: an rtk-lsp checkout to alternate with",
    )
    parser.add_argument(
        "--switch", metavar="REV", help="with --first-answer: then move HEAD to REV and time the next plans"
    )
    parser.add_argument(
        "--pause",
        type=float,
        default=2.0,
        metavar="S",
        help="with --first-answer: seconds between the end of the index and the first plan (default 2)",
    )
    args = parser.parse_args()
    root = args.root.resolve()
    if args.first_answer:
        report_first_answers(
            root, args.first_answer, args.baseline and args.baseline.resolve(), args.switch, args.pause
        )
        return 0
    cache = args.cache or tempfile.mkdtemp(prefix="rtk-bench-cache-")

    tasks = tasks_for(root, args.n + args.warmup)
    requests = [{"task": t, "budget": BUDGETS[i % len(BUDGETS)]} for i, t in enumerate(tasks)]
    warm, timed = requests[: args.warmup], requests[args.warmup :]

    run = asyncio.run(measure(root, cache, warm + timed, len(warm)))
    rt, ip, srv = run["round_trip_ms"], run["plan_ms_in_process"], run["plan_ms_in_server"]
    folder = run["status"]["folders"][0]
    rows = [
        ("LSP round trip", pct(rt, 0.5), pct(rt, 0.95), statistics.mean(rt)),
        ("plan() inside the server", pct(srv, 0.5), pct(srv, 0.95), statistics.mean(srv)),
        ("plan() in-process", pct(ip, 0.5), pct(ip, 0.95), statistics.mean(ip)),
    ]
    print(
        f"root {root}: {folder.get('files')} files, {folder.get('symbols')} symbols, "
        f"{folder.get('history', {}).get('commits')} commits; {len(timed)} timed requests"
    )
    print(
        f"initialize -> first index end (cold cache): {run['index_s']:.2f} s; "
        f"in-process warm load from that cache: {run['warm_load_s']:.2f} s"
    )
    print(f"{'':28} {'p50 ms':>9} {'p95 ms':>9} {'mean ms':>9}")
    for name, p50, p95, mean in rows:
        print(f"{name:28} {p50:9.1f} {p95:9.1f} {mean:9.1f}")
    ok = True
    for label, q in (("p50", 0.5), ("p95", 0.95)):
        limit = 1.5 * pct(ip, q) + 5
        ratio = pct(rt, q) / pct(ip, q) if pct(ip, q) else float("inf")
        verdict = "ok" if pct(rt, q) <= limit else "OVER"
        ok = ok and verdict == "ok"
        print(f"{label}: round trip / in-process = {ratio:.2f}x; target <= {limit:.1f} ms: {verdict}")
    if args.json:
        args.json.write_text(
            json.dumps({**{k: v for k, v in run.items() if k != "status"}, "status": folder})
        )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
