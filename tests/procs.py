"""Processes and disks under real limits, and the processes below one: for the hostile-repository and
fault tests."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import os
import resource
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from pathlib import Path

import pytest

# Address space for one rtk-lsp process (workers get their own): far above what indexing a
# small repository needs, far below what reading /dev/zero without a bound reaches in seconds.
ADDRESS_SPACE = 1 << 30

_PR_CAPBSET_DROP = 24
_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH = 1, 2


def limits(address_space: int = ADDRESS_SPACE, *, nofile: int | None = None) -> Callable[[], None]:
    """A preexec_fn: an address-space limit and, for root, no permission override (so that a
    chmod 000 file is unreadable to the child, as it is to any user)."""

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
        if nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
        if os.geteuid() == 0:
            libc = ctypes.CDLL(None, use_errno=True)
            for cap in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
                if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
                    raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")

    return apply


# ---- processes ----------------------------------------------------------------------------------


def stat_fields(pid: int) -> list[str] | None:
    try:
        data = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    return data[data.rfind(b")") + 2 :].decode().split()


def descendants(pid: int) -> dict[int, str]:
    """Every live process below `pid`, with its start time (to tell a reused pid apart)."""
    children: dict[int, list[int]] = {}
    starts: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := stat_fields(int(entry))) is not None:
            children.setdefault(int(fields[1]), []).append(int(entry))
            starts[int(entry)] = fields[19]
    found: dict[int, str] = {}
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found[child] = starts[child]
            todo.append(child)
    return found


def running(pid: int, start: str) -> bool:
    fields = stat_fields(pid)
    return fields is not None and fields[19] == start and fields[0] != "Z"


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


async def parse_workers(
    pid: int, progress: Callable[[], Awaitable[tuple[str, int, int]]], timeout: float = 120
) -> dict[int, str]:
    """Wait until `pid` is half-way through a parallel parse (its workers have answered at least
    once, so they are past starting up), then every process below it."""
    deadline = time.monotonic() + timeout
    while True:
        phase, done, total = await progress()
        if phase == "parse" and 0 < done < total:
            below = descendants(pid)
            assert any("multiprocessing.spawn" in cmdline(p) for p in below), "parsing without workers"
            return below
        assert time.monotonic() < deadline, f"never seen parsing in worker processes ({phase} {done}/{total})"
        await asyncio.sleep(0.02)


async def all_gone(processes: Mapping[int, str], timeout: float = 30) -> list[str]:
    """Wait for the processes to end; those still running after `timeout`, described."""
    deadline = time.monotonic() + timeout
    while (
        left := [p for p, start in processes.items() if running(p, start)]
    ) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    survivors = [f"{p} {cmdline(p)[:120]}" for p in left]
    for p in left:  # do not leave them behind, whatever the test says
        with contextlib.suppress(OSError):
            os.kill(p, signal.SIGKILL)
    return survivors


@contextlib.contextmanager
def tmpfs(path: Path, size: str = "4m") -> Iterator[Path]:
    """A small real file system at `path` that the test can fill; skips where mounting is not allowed
    (tests/unit/test_store_faults.py then covers the store's taxonomy with errors raised in SQLite)."""
    path.mkdir(parents=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(directory: Path) -> Path:
    """Fill the file system holding `directory` to the last byte; the filler file, to free it again."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)  # unbuffered: no flush left to fail on close
    try:
        while True:
            os.write(fd, b"\0" * 65536)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return filler
