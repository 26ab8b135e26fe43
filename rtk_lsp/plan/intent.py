"""What a task asks for: its kind, its words, the code names and paths it mentions.

Deterministic and local: regular expressions over the task text, no model.
"""

from __future__ import annotations

import re

from rtk_lsp.index.snapshot import KNOWN_EXTENSIONS
from rtk_lsp.plan.result import Intent, IntentKind
from rtk_lsp.text import STOPWORDS, TASK_VERBS, split_identifier, stem, word_parts

# Cue words per kind, matched on word boundaries against the lowercased task. Order of
# KIND_CUES is the tie-break order: a task that is both a fix and a feature is a fix.
KIND_CUES: dict[IntentKind, tuple[str, ...]] = {
    "bugfix": (
        "fix",
        "fixes",
        "fixed",
        "bug",
        "bugs",
        "broken",
        "crash",
        "crashes",
        "panic",
        "error",
        "errors",
        "fail",
        "fails",
        "failing",
        "failure",
        "regression",
        "incorrect",
        "wrong",
        "unexpected",
        "exception",
        "traceback",
        "segfault",
        "typo",
        "hang",
        "hangs",
        "leak",
        "issue",
        "prevent",
        "avoid",
        "correct",
    ),
    "test": ("test", "tests", "testing", "unittest", "pytest", "coverage", "spec", "specs", "flaky"),
    "performance": (
        "performance",
        "perf",
        "slow",
        "slower",
        "faster",
        "speed",
        "speedup",
        "optimize",
        "optimise",
        "latency",
        "memory",
        "cache",
        "caching",
        "throughput",
        "efficient",
    ),
    "refactor": (
        "refactor",
        "refactoring",
        "restructure",
        "reorganize",
        "cleanup",
        "clean",
        "simplify",
        "extract",
        "rename",
        "move",
        "split",
        "consolidate",
        "deduplicate",
        "modernize",
        "tidy",
    ),
    "docs": (
        "doc",
        "docs",
        "documentation",
        "docstring",
        "docstrings",
        "readme",
        "comment",
        "comments",
        "changelog",
        "example",
        "examples",
        "tutorial",
    ),
    "feature": (
        "add",
        "adds",
        "implement",
        "introduce",
        "support",
        "new",
        "feature",
        "enable",
        "allow",
        "allows",
        "provide",
        "create",
        "option",
        "flag",
        "extend",
    ),
}
_KIND_RE = {k: re.compile(r"\b(" + "|".join(map(re.escape, cues)) + r")\b") for k, cues in KIND_CUES.items()}

_BACKTICK = re.compile(r"`([^`\n]{1,200})`")
_PATH = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)+[\w.-]+|[\w-]+\.(?:[a-z]{1,5}))(?![\w/])")
_CODE_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:(?:\.|::|->|#)[A-Za-z_][A-Za-z0-9_]*)*(?:\(\))?")
_ERROR = re.compile(
    r"(\b[A-Z][A-Za-z]*(?:Error|Exception|Warning)\b(?::\s*(?:'[^'\n]{1,120}'|\"[^\"\n]{1,120}\"|[^\s,;]+))?)"
    r"|\"([^\"\n]{8,160})\"|'([^'\n]{8,160})'"
)
_FILE_EXTS = frozenset(ext.lstrip(".") for ext in KNOWN_EXTENSIONS)


def _is_code_name(token: str) -> bool:
    """snake_case, camelCase, PascalCase with an inner capital, dotted or scoped names, calls."""
    bare = token.rstrip("()")
    if any(sep in bare for sep in (".", "::", "->", "#")):
        return True
    if "_" in bare.strip("_") or (bare.startswith("__") and bare.endswith("__")):
        return True
    return len(split_identifier(bare)) > 1 and not bare.isupper() and not bare.istitle()


def classify(task: str) -> IntentKind:
    low = task.lower()
    best: IntentKind = "other"
    best_n = 0
    for kind, regex in _KIND_RE.items():
        n = len(regex.findall(low))
        if n > best_n:
            best, best_n = kind, n
    return best


def parse_intent(task: str) -> Intent:
    identifiers: list[str] = []
    paths: list[str] = []
    for m in _BACKTICK.finditer(task):
        for tok in _CODE_TOKEN.findall(m.group(1)):
            identifiers.append(tok.rstrip("()"))
    for m in _PATH.finditer(task):
        p = m.group(1).strip(".")
        ext = p.rsplit(".", 1)[-1].lower() if "." in p.rsplit("/", 1)[-1] else ""
        if "/" in p or ext in _FILE_EXTS:
            paths.append(p)
    for tok in _CODE_TOKEN.findall(task):
        bare = tok.rstrip("()")
        if bare not in paths and _is_code_name(tok) and not any(bare in p for p in paths):
            identifiers.append(bare)
    errors = []
    for m in _ERROR.finditer(task):
        frag = next(g for g in m.groups() if g)
        errors.append(frag.strip())

    keywords: list[str] = []
    for word in re.findall(r"[A-Za-z][A-Za-z0-9_]*", task):
        low = word.lower()
        if low in STOPWORDS or low in TASK_VERBS or stem(low) in TASK_VERBS:
            continue
        keywords.extend(word_parts(word))  # the task's own words: ranking stems them
    return Intent(
        kind=classify(task),
        keywords=tuple(dict.fromkeys(keywords)),
        identifiers=tuple(dict.fromkeys(identifiers)),
        paths=tuple(dict.fromkeys(paths)),
        errors=tuple(dict.fromkeys(errors)),
    )
