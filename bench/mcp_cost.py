"""What MCP support costs, and what an MCP call costs against the HTTP endpoint, in one run.

    python bench/mcp_cost.py [--repo DIR] [--runs 7] [--calls 50]

Prints four tables:

1. install size: the files of the `mcp` distribution and of the distributions only it
   brings (its dependency closure minus that of rtk-lsp's other dependencies), from their
   installed RECORD files;
2. import cost, median of `--runs` fresh interpreters each: what `rtk-lsp plan` and the
   language server load (the SDK must not be among them), what the first `/mcp` request
   loads, and uvicorn (what a second web server beside the door would add);
3. start-up: `rtk-lsp mcp` until `initialize` answers and until the first plan, against
   `rtk-lsp serve` until its first line, on the same repository (warm store);
4. warm round trips over `--calls` identical plans: HTTP `/v1/plan-context` (the baseline),
   MCP over stdio and MCP over `/mcp` on the same `serve`, p50/p95 and ratio to baseline,
   plus the server's RSS before and after its first `/mcp` session.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from http_load import rss_mb  # noqa: E402 (a sibling benchmark, found beside this script)

TASK = "fix the discount rounding in InvoiceCalculator.apply_discount"


def closure(name: str, seen: set[str] | None = None) -> set[str]:
    """A distribution and every distribution it requires (extras and markers that do not apply left out)."""
    seen = set() if seen is None else seen
    key = name.lower().replace("_", "-")
    if key in seen:
        return seen
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return seen
    seen.add(key)
    for req in dist.requires or ():
        spec, _, marker = req.partition(";")
        if "extra" in marker:
            continue
        dep = re.split(r"[\s<>=!~\[(]", spec.strip(), maxsplit=1)[0]
        closure(dep, seen)
    return seen


def dist_bytes(name: str) -> int:
    dist = metadata.distribution(name)
    total = 0
    for f in dist.files or ():
        path = Path(str(dist.locate_file(f)))
        if path.is_file():
            total += path.stat().st_size
    return total


def install_size() -> None:
    rtk = metadata.distribution("rtk-lsp")
    others: set[str] = set()
    for req in rtk.requires or ():
        spec, _, marker = req.partition(";")
        dep = re.split(r"[\s<>=!~\[(]", spec.strip(), maxsplit=1)[0]
        if "extra" not in marker and dep.lower() != "mcp":
            closure(dep, others)
    only_mcp = sorted(closure("mcp") - others)
    sizes = {d: dist_bytes(d) for d in only_mcp}
    base = sum(dist_bytes(d) for d in others)
    print("\n## install size (installed files)\n")
    print("| distribution | MB |\n|---|---|")
    for d, n in sorted(sizes.items(), key=lambda kv: -kv[1]):
        print(f"| {d} | {n / 1e6:.1f} |")
    added = sum(sizes.values())
    print(f"| **mcp and what only it brings ({len(sizes)} distributions)** | **{added / 1e6:.1f}** |")
    print(f"| rtk-lsp's other runtime dependencies ({len(others)}) | {base / 1e6:.1f} |")
    print(f"\nratio: +{added / base:.0%} over the other runtime dependencies")


def import_once(statement: str, src: Path) -> tuple[float, int, bool]:
    code = (
        f"import sys; sys.path.insert(0, {str(src)!r}); import time; t = time.perf_counter(); {statement}; "
        "print((time.perf_counter() - t) * 1000, len(sys.modules), 'mcp' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    ms, n, flag = out.split()
    return float(ms), int(n), flag == "True"


def import_cost(runs: int, baseline: Path | None) -> None:
    rows = [
        ("`rtk-lsp plan` (rtk_lsp.cli)", "import rtk_lsp.cli", True),
        ("language server + HTTP door", "import rtk_lsp.server.lsp, rtk_lsp.server.http", True),
        ("first `/mcp` request (the SDK, tools, ASGI adapter)", "import rtk_lsp.server.mcp.asgi", False),
        ("`rtk-lsp mcp` (stdio)", "import rtk_lsp.server.mcp.stdio", False),
        ("uvicorn (a second web server, the alternative)", "import uvicorn, starlette.applications", False),
    ]
    print(f"\n## import cost (median of {runs} fresh interpreters; with a baseline, runs alternate)\n")
    head = "| what | ms | modules | loads `mcp` |"
    if baseline:
        head += f" baseline ({baseline.name}) ms | baseline modules | ratio |"
    print(head + "\n|---|---|---|---|" + ("---|---|---|" if baseline else ""))
    for label, statement, compare in rows:
        ours: list[float] = []
        theirs: list[float] = []
        for _ in range(runs):
            ms, mods, has_mcp = import_once(statement, ROOT)
            ours.append(ms)
            if baseline and compare:
                base_ms, base_mods, _ = import_once(statement, baseline)
                theirs.append(base_ms)
        line = f"| {label} | {statistics.median(ours):.0f} | {mods} | {'yes' if has_mcp else 'no'} |"
        if baseline:
            if theirs:
                ratio = statistics.median(ours) / statistics.median(theirs)
                line += f" {statistics.median(theirs):.0f} | {base_mods} | {ratio:.2f} |"
            else:
                line += " – | – | – |"
        print(line)


async def startup(repo: Path, env: dict[str, str], runs: int) -> None:
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    serve_first_line = []
    for _ in range(runs):
        t = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "rtk_lsp", "serve", "--root", str(repo)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        assert proc.stdout is not None
        proc.stdout.readline()
        serve_first_line.append((time.perf_counter() - t) * 1000)
        proc.terminate()
        proc.wait()

    init, first = [], []
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "rtk_lsp", "mcp", "--root", str(repo)], env=env
    )
    for _ in range(runs):
        t = time.perf_counter()
        with open(os.devnull, "w") as errlog:
            async with stdio_client(params, errlog=errlog) as (r, w), ClientSession(r, w) as s:
                await s.initialize()
                init.append((time.perf_counter() - t) * 1000)
                result = await s.call_tool("plan_context", {"task": TASK})
                assert not result.is_error
                first.append((time.perf_counter() - t) * 1000)
    print(f"\n## start-up on {repo.name} (warm store; median of {runs})\n")
    print("| | ms |\n|---|---|")
    print(f"| `rtk-lsp serve` until `listening on` | {statistics.median(serve_first_line):.0f} |")
    print(f"| `rtk-lsp mcp` until `initialize` answers | {statistics.median(init):.0f} |")
    print(f"| `rtk-lsp mcp` until the first plan | {statistics.median(first):.0f} |")


def pct(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(q * len(s)))]


async def timed_plans(session: Any, calls: int) -> list[float]:
    """Milliseconds of `calls` identical plan_context calls, after one that warms the cache."""
    await session.call_tool("plan_context", {"task": TASK})
    samples = []
    for _ in range(calls):
        t = time.perf_counter()
        await session.call_tool("plan_context", {"task": TASK})
        samples.append((time.perf_counter() - t) * 1000)
    return samples


async def round_trips(repo: Path, env: dict[str, str], calls: int) -> None:
    import httpx2
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client
    from mcp.client.streamable_http import streamable_http_client

    from rtk_lsp.server.discovery import call, list_servers

    proc = subprocess.Popen(
        [sys.executable, "-m", "rtk_lsp", "serve", "--root", str(repo)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    results: dict[str, list[float]] = {}
    try:
        assert proc.stdout is not None
        proc.stdout.readline()
        os.environ.update(env)  # the discovery directory of this run
        [server] = [s for s in list_servers() if s.pid == proc.pid]
        body = {"project_root": str(repo), "task": TASK}
        call(server, "POST", "/v1/plan-context", body, wait=30)
        http = []
        for _ in range(calls):
            t = time.perf_counter()
            call(server, "POST", "/v1/plan-context", body)
            http.append((time.perf_counter() - t) * 1000)
        results["HTTP /v1/plan-context (baseline)"] = http

        before = rss_mb(proc.pid)
        headers = {"Authorization": f"Bearer {server.token}"}
        async with (
            httpx2.AsyncClient(headers=headers) as client,
            streamable_http_client(server.url + "/mcp", http_client=client) as (r, w),
            ClientSession(r, w) as s,
        ):
            await s.initialize()
            results["MCP over /mcp (streamable HTTP, same server)"] = await timed_plans(s, calls)
            after = rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait()

    params = StdioServerParameters(
        command=sys.executable, args=["-m", "rtk_lsp", "mcp", "--root", str(repo)], env=env
    )
    with open(os.devnull, "w") as errlog:
        async with stdio_client(params, errlog=errlog) as (r, w), ClientSession(r, w) as s:
            await s.initialize()
            results["MCP over stdio (`rtk-lsp mcp`)"] = await timed_plans(s, calls)

    base = statistics.median(results["HTTP /v1/plan-context (baseline)"])
    print(f"\n## warm plan round trips on {repo.name} ({calls} identical plans, cached after the first)\n")
    print("| door | p50 ms | p95 ms | p50 ratio |\n|---|---|---|---|")
    for label, samples in results.items():
        p50 = statistics.median(samples)
        print(f"| {label} | {p50:.1f} | {pct(samples, 0.95):.1f} | {p50 / base:.2f} |")
    print(
        f"\n`serve` RSS before / after its first MCP session: {before:.1f} / {after:.1f} MB (+{after - before:.1f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=ROOT / "examples" / "shop")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--baseline", type=Path, help="a checkout without MCP support, to compare imports")
    parser.add_argument("--only", choices=("size", "imports", "startup", "calls"), help="one table only")
    args = parser.parse_args()
    repo = args.repo.resolve()
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        run.mkdir(mode=0o700)
        env = {**os.environ, "RTK_LSP_CACHE_DIR": str(Path(tmp) / "cache"), "XDG_RUNTIME_DIR": str(run)}
        subprocess.run(
            [sys.executable, "-m", "rtk_lsp", "index", "--root", str(repo)],
            env=env,
            check=True,
            capture_output=True,
        )
        if args.only in (None, "size"):
            install_size()
        if args.only in (None, "imports"):
            import_cost(args.runs, args.baseline)
        if args.only in (None, "startup"):
            asyncio.run(startup(repo, env, args.runs))
        if args.only in (None, "calls"):
            asyncio.run(round_trips(repo, env, args.calls))


if __name__ == "__main__":
    main()
