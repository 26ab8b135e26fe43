"""Python's cycle collector around the building of an index, and after it.

Building an index (a refresh, a snapshot's lookups) allocates millions of small objects that
live as long as the snapshot, and frees what it replaces by reference counting. Each
collection meanwhile walks every object of every index in the process: a third of a refresh
on pyright (1.3-1.7 s of 4-5 s) when left on. So it is paused while an index is built.

What was built then waits in the youngest generation, and left to itself the collector walks
it four times within the next plans (the young generation, the middle one, the whole heap
twice): 0.5 s of the first plan after a cold start on pyright, 1.0 s after a branch switch.
`settle` walks it once, in the worker that makes a new snapshot's lookups (`Engine._prepare`).
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

__all__ = ["paused", "settle"]

_lock = threading.Lock()
_paused = 0  # blocks running with the collector paused, in any thread


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """No automatic collection while the block runs (nor while another thread's block does)."""
    global _paused
    with _lock:
        if _paused == 0 and not gc.isenabled():
            paused_here = False  # someone else turned it off: leave it so
        else:
            paused_here = True
            _paused += 1
            gc.disable()
    try:
        yield
    finally:
        if paused_here:
            with _lock:
                _paused -= 1
                if _paused == 0:
                    gc.enable()


def settle() -> None:
    """One full collection now: what a build left young moves to the oldest generation at once."""
    gc.collect()
