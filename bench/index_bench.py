#!/usr/bin/env python3
"""Index build benchmark: cold build per phase, warm restart, one-file refresh, peak RSS.

Each measurement runs in a fresh process (so RSS and caches are its own) against a
private cache dir. CPU seconds are printed next to the cold build's wall time: they depend
less on what else the machine runs. A cold build writes content rows and builds the lexical
index while parser processes parse: its "parse" phase holds that work, "lexical" and "store"
what was left after. The baseline, run in the same process as the cold build, is the
I/O floor: listing the files and reading + hashing every one of them.

usage: python bench/index_bench.py ROOT [ROOT ...] [--cold-runs 5] [--baseline DIR]
The cold build runs --cold-runs times (3 by default), each in a fresh process and cache: the table
gives the median run (its CPU seconds, phases and RSS) and the range, because on a shared 2-core
machine one build's wall time moves by up to 20% from run to run. With --baseline DIR (another
rtk-lsp checkout, say main before a change), that checkout's cold builds alternate with these, and
a last line gives both medians and their ratio: the machine's moods then fall on both alike.
Note: the one-file refresh appends a comment to a tracked file and restores it after.

With several roots (say one per language family and a Python repository), a last table
compares the parse cost per MB of each parsed language, as CPU time in one process:
tree-sitter's parse alone, then the whole extraction (queries, definitions, references).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

# RTK_BENCH_CODE=DIR: the code measured is the checkout at DIR (how --baseline runs its builds)
sys.path.insert(0, os.environ.get("RTK_BENCH_CODE") or os.path.join(os.path.dirname(__file__), ".."))


def _cpu_s() -> tuple[float, float]:
    """CPU seconds (user + system) of this process and of its ended children: the parser processes."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def _peak_mb() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def phase_cold(root: str) -> dict[str, object]:
    from rtk_lsp.index.scan import content_hash, list_files
    from rtk_lsp.index.workspace import Workspace
    from rtk_lsp.settings import Settings

    t0 = time.perf_counter()
    files, _ = list_files(root)
    total = 0
    for sf in files:
        with open(os.path.join(root, sf.rel_path), "rb") as f:
            data = f.read()
        total += len(data)
        content_hash(data)
    floor = time.perf_counter() - t0

    cpu0 = _cpu_s()
    t0 = time.perf_counter()
    ws = Workspace(root, Settings())
    snap = ws.refresh()
    ws.close()
    cold = time.perf_counter() - t0
    cpu = [round(after - before, 2) for after, before in zip(_cpu_s(), cpu0, strict=True)]
    own, children = _peak_mb()
    s = snap.summary()
    return {
        "files": s["files"],
        "mb": round(total / 2**20, 1),
        "symbols": s["symbols"],
        "edges": s["edges"],
        "commits": s["history"]["commits"],
        "floor_s": round(floor, 3),
        "cold_s": round(cold, 3),
        "cold_cpu_s": cpu,
        "phases_ms": s["timings_ms"],
        "peak_rss_mb": round(own, 1),
        "worker_peak_rss_mb": round(children, 1),
    }


def phase_warm(root: str) -> dict[str, object]:
    from rtk_lsp.index.workspace import Workspace
    from rtk_lsp.settings import Settings

    t0 = time.perf_counter()
    ws = Workspace(root, Settings())
    snap = ws.refresh()
    warm = time.perf_counter() - t0
    own, _ = _peak_mb()
    # one-file edits: the editor/watcher path (targeted) and the full re-scan path, on the
    # busiest source file under 200 KB (worst case) and on a median-sized source file (typical)
    sources = sorted((r.size, p) for p, r in snap.files.items() if r.facts.symbols and r.size < 200_000)
    busiest = max(sources, key=lambda sp: (len(snap.files[sp[1]].facts.symbols), sp[1]))[1]
    median = sources[len(sources) // 2][1]
    edits = {}
    for label, target in (("busiest", busiest), ("median", median)):
        path = os.path.join(root, target)
        with open(path, "rb") as f:
            original = f.read()
        comment = (
            b"\n# rtk-lsp benchmark edit\n" if target.endswith((".py", ".pyi")) else b"\n// rtk-lsp edit\n"
        )
        try:
            with open(path, "ab") as f:
                f.write(comment)
            t0 = time.perf_counter()
            ws.refresh(paths=[target])
            targeted = time.perf_counter() - t0
            with open(path, "ab") as f:
                f.write(b"\n")
            t0 = time.perf_counter()
            ws.refresh()
            rescan = time.perf_counter() - t0
        finally:
            with open(path, "wb") as f:
                f.write(original)
            ws.refresh(paths=[target])
        edits[label] = (target, len(original), round(targeted * 1000, 1), round(rescan * 1000, 1))
    ws.close()
    return {
        "warm_s": round(warm, 3),
        "warm_phases_ms": snap.summary()["timings_ms"],
        "hits": snap.cache["hits"],
        "misses": snap.cache["misses"],
        "edits": edits,
        "peak_rss_mb": round(own, 1),
    }


def phase_languages(root: str) -> dict[str, object]:
    """CPU seconds per MB of source, per parsed language (files under 1 MB, as the index parses)."""
    from rtk_lsp.index.languages import PARSED, detect_language
    from rtk_lsp.index.parse.extract import _compile, extract
    from rtk_lsp.index.scan import list_files

    files, _ = list_files(root)
    sources: dict[str, list[bytes]] = {}
    for sf in files:
        language = detect_language(sf.rel_path)
        if language in PARSED and sf.size < 1_000_000:
            with open(os.path.join(root, sf.rel_path), "rb") as f:
                sources.setdefault(language, []).append(f.read())
    out: dict[str, object] = {}
    for language, texts in sources.items():
        mb = sum(map(len, texts)) / 2**20
        compiled = _compile(language)
        if mb < 0.2 or compiled is None:
            continue  # too little to measure
        t0 = time.process_time()
        for text in texts:
            compiled.parser.parse(text)
        parse = time.process_time() - t0
        t0 = time.process_time()
        for text in texts:
            extract("x", language, text)
        whole = time.process_time() - t0
        out[language] = (len(texts), round(mb, 2), round(parse / mb, 3), round(whole / mb, 3))
    return out


def run_phase(root: str, phase: str, env: dict[str, str]) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, __file__, root, "--phase", phase],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, object] = json.loads(out.stdout)
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("roots", nargs="+")
    ap.add_argument("--phase", choices=("cold", "warm", "languages"))
    ap.add_argument("--cold-runs", type=int, default=3, help="cold builds per root (median and range)")
    ap.add_argument(
        "--baseline", metavar="DIR", help="an rtk-lsp checkout whose cold builds alternate with these"
    )
    a = ap.parse_args()
    if a.phase:
        phase = {"cold": phase_cold, "warm": phase_warm, "languages": phase_languages}[a.phase]
        print(json.dumps(phase(os.path.realpath(a.roots[0]))))
        return
    costs = []
    for root in a.roots:
        report(os.path.realpath(root), max(1, a.cold_runs), a.baseline)
        costs.append((root, run_phase(os.path.realpath(root), "languages", dict(os.environ))))
    print("\nparse cost per MB of source (CPU seconds, one process)")
    print("| root | language | files | MB | tree-sitter parse s/MB | whole extraction s/MB |")
    print("|---|---|---|---|---|---|")
    for root, by_language in costs:
        for language, (n, mb, parse, whole) in sorted(by_language.items(), key=lambda kv: -kv[1][1]):
            print(f"| {os.path.basename(root.rstrip('/'))} | {language} | {n} | {mb} | {parse} | {whole} |")


def _cold_in_fresh_cache(
    root: str, code: str | None, then_warm: bool = False
) -> tuple[dict[str, object], dict[str, object] | None]:
    """One cold build of the checkout at `code` (None: this one) in a fresh cache, and the warm
    restart that reads what it stored when `then_warm`."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "RTK_LSP_CACHE_DIR": cache}
        if code:
            env["RTK_BENCH_CODE"] = os.path.abspath(code)
        cold = run_phase(root, "cold", env)
        return cold, run_phase(root, "warm", env) if then_warm else None


def _median_and_range(colds: list[dict[str, object]]) -> tuple[dict[str, object], float, float]:
    ordered = sorted(colds, key=lambda c: float(str(c["cold_s"])))
    return (
        ordered[(len(ordered) - 1) // 2],
        float(str(ordered[0]["cold_s"])),
        float(str(ordered[-1]["cold_s"])),
    )


def report(root: str, cold_runs: int, baseline: str | None) -> None:
    colds: list[dict[str, object]] = []
    base: list[dict[str, object]] = []
    warm: dict[str, object] | None = None
    codes = (None,) if not baseline else (None, baseline)
    for run in range(cold_runs):
        last = run == cold_runs - 1  # the warm restart reads what the last cold build stored
        # with a baseline, first or second by turns, so that neither always runs on a warmer machine
        for code in codes if run % 2 == 0 else codes[::-1]:
            cold, after = _cold_in_fresh_cache(root, code, then_warm=last and code is None)
            (base if code else colds).append(cold)
            warm = after or warm
    assert warm is not None
    cold, lo, hi = _median_and_range(colds)
    print(f"root: {root}")
    print(
        f"files {cold['files']} ({cold['mb']} MB), symbols {cold['symbols']}, edges {cold['edges']}, "
        f"commits {cold['commits']}"
    )
    print("| measure | value |")
    print("|---|---|")
    print(f"| I/O floor: list + read + hash all files (baseline) | {cold['floor_s']:.2f} s |")
    spread = f"; {lo:.2f}-{hi:.2f} s over {len(colds)} runs" if len(colds) > 1 else ""
    print(
        f"| cold build{', median' if len(colds) > 1 else ''} | {cold['cold_s']:.2f} s "
        f"({cold['cold_s'] / max(cold['floor_s'], 1e-9):.1f}x baseline{spread}) |"
    )
    cpu = cold["cold_cpu_s"]
    assert isinstance(cpu, list)
    main_cpu, workers_cpu = cpu
    print(f"| cold build CPU (main process / parser processes) | {main_cpu:.2f} s / {workers_cpu:.2f} s |")
    phases = cold["phases_ms"]
    assert isinstance(phases, dict)
    print("| cold phases | " + ", ".join(f"{k} {v / 1000:.2f} s" for k, v in phases.items()) + " |")
    print(
        f"| cold peak RSS (main / largest worker) | {cold['peak_rss_mb']} MB / {cold['worker_peak_rss_mb']} MB |"
    )
    print(
        f"| warm restart (store loaded, nothing changed) | {warm['warm_s']:.2f} s (misses {warm['misses']}) |"
    )
    wph = warm["warm_phases_ms"]
    assert isinstance(wph, dict)
    print("| warm phases | " + ", ".join(f"{k} {v:.0f} ms" for k, v in wph.items()) + " |")
    edits = warm["edits"]
    assert isinstance(edits, dict)
    for label, (target, size, targeted, rescan) in edits.items():
        print(
            f"| one-file edit, {label} file ({target}, {size // 1024} KB): targeted refresh | {targeted} ms |"
        )
        print(f"| one-file edit, {label} file: full re-scan refresh | {rescan} ms |")
    print(f"| warm peak RSS | {warm['peak_rss_mb']} MB |")
    if base:
        ref, ref_lo, ref_hi = _median_and_range(base)
        ref_cpu = ref["cold_cpu_s"]
        assert isinstance(ref_cpu, list)
        print(
            f"| cold build, baseline {baseline} (alternating) | {ref['cold_s']:.2f} s median "
            f"({ref_lo:.2f}-{ref_hi:.2f} s; CPU {ref_cpu[0]:.2f} s / {ref_cpu[1]:.2f} s) |"
        )
        print(
            f"| cold build, this checkout / baseline (medians) | {float(str(cold['cold_s'])) / float(str(ref['cold_s'])):.2f}x |"
        )


if __name__ == "__main__":
    main()
