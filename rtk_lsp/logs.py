"""Logging that no client, checkout or fault can turn into a flood.

Past the open-files limit asyncio logs a traceback for every refused accept (thousands a
second), and a stream of malformed requests would log one each. In LSP mode stderr is the
editor's output panel. So every handler of the process gets a `Condense` filter: at most
`BURST` records of one kind (logger, level, message template) per `WINDOW` seconds, the
first with its traceback and the rest in one line; what is left out is counted and the
count is reported with the next record of that kind. Errors a client caused (a malformed
HTTP request) never carry a traceback.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict

WINDOW = 60.0
BURST = 5
_KINDS = 512  # kinds remembered; the least recently seen is forgotten first


def _one_line(record: logging.LogRecord) -> None:
    exc = record.exc_info[1] if record.exc_info else None
    message = record.getMessage()
    if exc is not None:
        detail = str(exc).strip().splitlines()
        message = f"{message}: {type(exc).__name__}: {detail[0] if detail else ''}".rstrip(": ")
    record.msg, record.args = message, None
    record.exc_info, record.exc_text, record.stack_info = None, None, None


def _client_caused(record: logging.LogRecord) -> bool:
    exc = record.exc_info[1] if record.exc_info else None
    return exc is not None and type(exc).__module__ == "aiohttp.http_exceptions"


class Condense(logging.Filter):
    def __init__(self, window: float = WINDOW, burst: int = BURST) -> None:
        super().__init__()
        self.window = window
        self.burst = burst
        self._lock = threading.Lock()
        self._kinds: OrderedDict[tuple[str, int, str], list[float]] = OrderedDict()

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, str(record.msg))
        now = time.monotonic()
        with self._lock:
            state = self._kinds.get(key)  # [window start, records in it, records left out]
            if state is not None and now - state[0] < self.window:
                state[1] += 1
                if state[1] > self.burst:
                    state[2] += 1
                    return False
                _one_line(record)
                return True
            left_out = int(state[2]) if state is not None else 0
            self._kinds[key] = [now, 1, 0]
            self._kinds.move_to_end(key)
            while len(self._kinds) > _KINDS:
                self._kinds.popitem(last=False)
        if _client_caused(record):
            _one_line(record)
        if left_out:
            record.msg = f"{record.msg} [{left_out} more like this were not logged]"
        return True


def condense(handler: logging.Handler) -> None:
    """Give `handler` a Condense filter (once)."""
    if not any(isinstance(f, Condense) for f in handler.filters):
        handler.addFilter(Condense())


def condense_root() -> None:
    for handler in logging.getLogger().handlers:
        condense(handler)
