"""The one token estimator used for every budget decision.

BPE tokenizers of current code models spend about 3.5-4.5 bytes of typical source
code per token. Counting one token per 3 bytes (rounded up, plus one per line for
the line structure Markdown rendering adds) errs on the high side, so a plan that
fits by this count fits for real.
"""

from __future__ import annotations

BYTES_PER_TOKEN = 3


def estimate_tokens(text: str) -> int:
    if not text:
        return 0
    n = len(text.encode("utf-8", errors="replace"))
    return -(-n // BYTES_PER_TOKEN) + text.count("\n") // 8


def estimate_bytes(size: int, lines: int = 0) -> int:
    """Whole-file read cost from its size, for files whose text is not at hand."""
    return -(-size // BYTES_PER_TOKEN) + lines // 8
