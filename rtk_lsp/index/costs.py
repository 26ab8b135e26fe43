"""What a refresh's ways cost on this machine, learned as refreshes run: the choice between
patching the previous snapshot file by file and the bulk path (parser processes, one lexical
and one graph build).

A refresh never costs more than a rebuild: a large change set costs about what a rebuild
does, so it takes the rebuild's path. The break-even is not a fixed share of files: it
follows the costs measured here (a moving average per file, per phase), starting from
figures measured on pyright on a 2-core machine.
"""

from __future__ import annotations

import threading

__all__ = ["CostModel", "costs"]

# Milliseconds: per KB parsed in this process (files differ in size far more than in kind); to
# start the parser processes; per file of a lexical / graph build; per changed file of a
# lexical / graph patch.
DEFAULTS = {
    "parse": 0.75,
    "pool_start": 300.0,
    "lexical_build": 0.25,
    "lexical_update": 0.6,
    "graph_build": 0.35,
    "graph_update": 1.2,
}
# Weight of the newest measurement: a few refreshes adapt the model, one odd one does not.
ALPHA = 0.3
# Less than this says more about noise (a GC pause, a cold page cache) than about cost.
MIN_AMOUNT = {"parse": 64}  # KB
MIN_FILES = 20


class CostModel:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.ms = dict(DEFAULTS)

    def observe(self, what: str, elapsed_ms: float, amount: int) -> None:
        """Learn from `elapsed_ms` spent on `amount` files (KB for "parse"; once for "pool_start")."""
        if what != "pool_start" and amount < MIN_AMOUNT.get(what, MIN_FILES):
            return
        per = max(0.0, elapsed_ms) / max(amount, 1) if what != "pool_start" else max(0.0, elapsed_ms)
        with self._lock:
            self.ms[what] = (1 - ALPHA) * self.ms[what] + ALPHA * per

    def pool_break_even(self, workers: int) -> int:
        """KB to parse from which parser processes pay for their start."""
        saved = self.ms["parse"] * (1 - 1 / max(workers, 1))
        if saved <= 0:
            return 2**62
        return int(self.ms["pool_start"] / saved) + 1

    def rebuild_pays(self, changed: int, total: int) -> bool:
        """Whether building the lexical index and the graph afresh beats patching `changed` files."""
        patch = changed * (self.ms["lexical_update"] + self.ms["graph_update"])
        build = total * (self.ms["lexical_build"] + self.ms["graph_build"])
        return build < patch


_costs = CostModel()


def costs() -> CostModel:
    """The process's model: every workspace here runs on the same machine."""
    return _costs
