"""Load benchmark of `rtk-lsp serve`: many concurrent keep-alive connections sending plan requests.

    python bench/http_load.py --repo /tmp/requests [--connections 1000] [--duration 60]
                              [--max-requests 12000] [--tasks 400] [--detail symbols]

Starts `rtk-lsp serve` on the repository (private cache and runtime dirs), reads the URL
from its first stdout line and the token from its discovery file, then opens
`--connections` connections at once from one asyncio client (raw streams, HTTP/1.1
keep-alive). Each connection sends plan requests with tasks drawn from a pool made of the
repository's own identifiers, until `--duration` seconds pass or `--max-requests` have
been sent. A 503 is honoured as a well-behaved agent would: wait Retry-After (plus
jitter), then go on. It prints throughput, latency percentiles of accepted (200)
requests, status counts, resets, and the server's RSS before and after.

Targets (2-core machine): no connection reset, no 5xx but documented 503s, every 503 with
Retry-After, p99 <= 2 s for accepted requests, RSS growth <= 50 MB over 10,000 requests.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from rtk_lsp.server.serve import raise_nofile_limit

TEMPLATES = (
    "fix the bug in {a} when {b} is empty",
    "{a} returns the wrong value for {b}",
    "add a test for {a}",
    "refactor {a} to reuse {b}",
    "why does {a} raise when called from {b}",
    "document how {a} and {b} interact",
    "{a} is slow on large inputs",
    "handle a missing {b} in {a}",
)


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def make_tasks(repo: Path, n: int, seed: int = 42) -> list[str]:
    """Varied tasks from the repository's own names, so plans are realistic and mostly distinct."""
    names: set[str] = set()
    pattern = re.compile(r"^\s*(?:def|class|func|function|fn)\s+([A-Za-z_][A-Za-z0-9_]{3,})", re.M)
    files = subprocess.run(["git", "ls-files"], cwd=repo, capture_output=True, text=True, check=False).stdout
    for rel in files.splitlines():
        path = repo / rel
        if path.suffix not in (".py", ".go", ".js", ".ts", ".rs", ".java", ".c") or not path.is_file():
            continue
        names.update(pattern.findall(path.read_text(errors="replace")))
        names.add(path.stem)
    pool = sorted(names)
    rng = random.Random(seed)
    tasks: set[str] = set()
    while len(tasks) < n and len(tasks) < len(pool) ** 2:
        tasks.add(rng.choice(TEMPLATES).format(a=rng.choice(pool), b=rng.choice(pool)))
    return sorted(tasks)


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)  # seconds, status 200 only
    statuses: collections.Counter[int] = field(default_factory=collections.Counter)
    errors: collections.Counter[str] = field(default_factory=collections.Counter)
    retry_after_missing: int = 0
    sent: int = 0
    done_at: float = 0.0


class Budget:
    def __init__(self, limit: int, deadline: float) -> None:
        self.left = limit
        self.deadline = deadline

    def take(self) -> bool:
        if self.left <= 0 or time.monotonic() >= self.deadline:
            return False
        self.left -= 1
        return True


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if "content-length" not in headers:
        raise ValueError(f"no Content-Length in a {status} answer")
    body = await reader.readexactly(int(headers["content-length"]))
    return status, headers, body


async def connection(
    host: str, port: int, requests: list[bytes], budget: Budget, stats: Stats, rng: random.Random
) -> None:
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    while True:
        if writer is None:
            try:
                reader, writer = await asyncio.open_connection(host, port)
            except OSError as exc:
                stats.errors[f"connect: {type(exc).__name__}"] += 1
                await asyncio.sleep(0.1)
                if time.monotonic() >= budget.deadline:
                    return
                continue
        assert reader is not None
        if not budget.take():
            writer.close()
            return
        request = rng.choice(requests)
        stats.sent += 1
        started = time.monotonic()
        try:
            writer.write(request)
            await writer.drain()
            status, headers, _body = await read_response(reader)
        except (ConnectionResetError, BrokenPipeError) as exc:
            stats.errors[f"reset: {type(exc).__name__}"] += 1
            writer.close()
            writer = None
            continue
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            stats.errors[f"bad answer: {type(exc).__name__}"] += 1
            writer.close()
            writer = None
            continue
        elapsed = time.monotonic() - started
        stats.statuses[status] += 1
        if status == 200:
            stats.latencies.append(elapsed)
        elif status == 503:
            retry = headers.get("retry-after")
            if retry is None:
                stats.retry_after_missing += 1
            await asyncio.sleep(float(retry or 1) + rng.random() * 0.5)
        if headers.get("connection", "").lower() == "close":
            writer.close()
            writer = None


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def load(
    url: str, token: str, root: str, tasks: list[str], detail: str, args: argparse.Namespace
) -> Stats:
    host, port = url.removeprefix("http://").split(":")
    requests = []
    for task in tasks:
        body = json.dumps({"project_root": root, "task": task, "detail": detail}).encode()
        requests.append(
            (
                f"POST /v1/plan-context HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode()
            + body
        )
    stats = Stats()
    budget = Budget(args.max_requests, time.monotonic() + args.duration)
    rng = random.Random(7)
    await asyncio.gather(
        *(
            connection(host, int(port), requests, budget, stats, random.Random(rng.random()))
            for _ in range(args.connections)
        )
    )
    stats.done_at = time.monotonic()
    return stats


def call_json(url: str, token: str, method: str, path: str, body: Any = None) -> Any:
    import http.client

    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=120)
    conn.request(
        method,
        path,
        body=json.dumps(body) if body is not None else None,
        headers={"Authorization": f"Bearer {token}"},
    )
    response = conn.getresponse()
    data = json.loads(response.read())
    conn.close()
    return data


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repo", required=True, help="a git repository to serve")
    p.add_argument("--connections", type=int, default=1000)
    p.add_argument("--duration", type=float, default=60.0, help="seconds of load at most")
    p.add_argument("--max-requests", type=int, default=12000, help="requests sent at most")
    p.add_argument("--tasks", type=int, default=400, help="distinct tasks in the pool")
    p.add_argument("--detail", default="symbols", choices=("paths", "symbols", "content"))
    p.add_argument("--serve-arg", action="append", default=[], help="extra argument for rtk-lsp serve")
    args = p.parse_args()

    repo = Path(args.repo).resolve()
    nofile = raise_nofile_limit()
    tmp = Path(tempfile.mkdtemp(prefix="rtk-http-load-"))
    (tmp / "run").mkdir(mode=0o700)
    env = {**os.environ, "RTK_LSP_CACHE_DIR": str(tmp / "cache"), "XDG_RUNTIME_DIR": str(tmp / "run")}
    subprocess.run(
        [sys.executable, "-m", "rtk_lsp", "index", "--root", str(repo)],
        env=env,
        check=True,
        capture_output=True,
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "rtk_lsp", "serve", "--root", str(repo), *args.serve_arg],
        env=env,
        stdout=subprocess.PIPE,
        stderr=open(tmp / "serve.err", "wb"),  # noqa: SIM115 (lives as long as the server)
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline().decode().strip()
        url = line.removeprefix("listening on ")
        [discovery] = list((tmp / "run" / "rtk-lsp").glob("server-*.json"))
        token = json.loads(discovery.read_text())["token"]
        while any(r["state"] == "indexing" for r in call_json(url, token, "GET", "/v1/health")["roots"]):
            time.sleep(0.1)
        tasks = make_tasks(repo, args.tasks)
        for task in tasks[:5]:
            call_json(url, token, "POST", "/v1/plan-context", {"project_root": str(repo), "task": task})
        rss_before = rss_mb(server.pid)

        started = time.monotonic()
        stats = asyncio.run(load(url, token, str(repo), tasks, args.detail, args))
        wall = stats.done_at - started
        rss_after = rss_mb(server.pid)
        health = call_json(url, token, "GET", "/v1/health")
        assert health["status"] == "ok"
        status = call_json(url, token, "GET", "/v1/status")["folders"][0]
    finally:
        server.send_signal(signal.SIGTERM)
        code = server.wait(30)

    answered = sum(stats.statuses.values())
    accepted = stats.statuses.get(200, 0)
    other_5xx = sum(n for s, n in stats.statuses.items() if s >= 500 and s != 503)
    rows = [
        ("repository", f"{repo.name} ({status.get('files', '?')} files indexed)"),
        (
            "client",
            f"{args.connections} concurrent keep-alive connections, asyncio streams, RLIMIT_NOFILE {nofile}",
        ),
        ("task pool", f"{len(tasks)} distinct tasks, detail={args.detail}"),
        ("wall time", f"{wall:.1f} s"),
        ("requests sent / answered", f"{stats.sent} / {answered}"),
        ("throughput (answered)", f"{answered / wall:.0f} req/s"),
        ("throughput (200 only)", f"{accepted / wall:.0f} req/s"),
        ("status counts", ", ".join(f"{s}: {n}" for s, n in sorted(stats.statuses.items()))),
        ("503 without Retry-After", str(stats.retry_after_missing)),
        ("other 5xx", str(other_5xx)),
        (
            "resets / bad answers / connect errors",
            ", ".join(f"{k}: {v}" for k, v in stats.errors.items()) or "0",
        ),
        (
            "latency p50 / p95 / p99 (200)",
            " / ".join(f"{percentile(stats.latencies, q) * 1000:.0f} ms" for q in (50, 95, 99)),
        ),
        ("latency max (200)", f"{max(stats.latencies, default=float('nan')) * 1000:.0f} ms"),
        ("plans computed / shared or cached", f"{status['plans']['misses']} / {status['plans']['hits']}"),
        (
            "server RSS before / after",
            f"{rss_before:.1f} MB / {rss_after:.1f} MB ({rss_after - rss_before:+.1f} MB)",
        ),
        ("server exit code on SIGTERM", str(code)),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"| {'metric':{width}} | value |")
    print(f"| {'-' * width} | ----- |")
    for key, value in rows:
        print(f"| {key:{width}} | {value} |")
    p99 = percentile(stats.latencies, 99)
    ok = (
        not stats.errors
        and other_5xx == 0
        and stats.retry_after_missing == 0
        and p99 <= 2.0
        and rss_after - rss_before <= 50
        and code == 0
    )
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
