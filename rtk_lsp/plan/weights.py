"""Every ranking constant in one place.

A file's score is `structure multiplier x sum(weight_i x signal_i)`, each signal
normalised to [0, 1] over the candidates of one plan. The signal weights sum to 1,
so a score is in [0, 1] too; `tests/unit/test_plan.py` checks both facts.
"""

from __future__ import annotations

from types import MappingProxyType

# Signals every task has: its words, the names and paths it mentions, the repository's history.
_PROSE = {
    "lexical": 0.35,  # BM25F of the task over path, definitions and text
    "symbol": 0.20,  # the task names something this file defines
    "path": 0.10,  # the task names this file or its directory
    # linked by imports/calls to the strongest matches: context more than the edit's target,
    # so weak (0.10 measured worse than 0.05 on the dev cases and on two held-out repositories)
    "graph": 0.05,
    "cochange": 0.10,  # changed together with the strongest matches in git history
    "similar_commits": 0.10,  # past commits with similar messages touched it
    "churn": 0.10,  # recency-decayed change frequency: a prior for "where work happens"
}
# Signals only some tasks have (see plan/task.py). They take their share from the others in
# proportion, so a task without a traceback, code or a quoted message ranks exactly as before.
_PARTS = {
    "traceback": 0.20,  # a traceback frame runs through this file (nearest the error weighs most)
    "code": 0.05,  # the task's code calls, constructs or imports something defined here
    "literal": 0.10,  # a string literal here is a message the task quotes, or an option it passes
}
PROSE_SHARE = 1.0 - sum(_PARTS.values())
SIGNAL_WEIGHTS = MappingProxyType({k: v * PROSE_SHARE for k, v in _PROSE.items()} | _PARTS)

# Lexical field weights (BM25F): a word in a file's path or its definitions says more than one in its text.
FIELD_WEIGHTS = MappingProxyType({"path": 2.0, "sym": 1.5, "body": 1.0})

# Multipliers for kinds of files the task did not ask about.
STRUCTURE = MappingProxyType(
    {
        "test": 0.45,  # test files, unless the task is about tests
        "doc": 0.5,  # Markdown/reST/text, unless the task is about docs
        "config": 0.6,  # TOML/YAML/JSON/INI
        "declaration": 0.6,  # .pyi / .d.ts: declarations mirror the code that changes
        "example": 0.6,  # examples/, fixtures/, benchmarks/, testdata/
        "vendored": 0.3,  # third_party/, vendored copies
        "other": 0.7,  # text files of unknown type
    }
)

SEEDS = 5  # files whose links and co-changes spread relevance
GRAPH_HOP_DECAY = 0.5  # second-hop neighbours get this share of a first hop
GRAPH_FRONTIER = 20  # files that pass relevance on to a second hop
LINKS_PER_FILE = 64  # strongest links of a file that carry relevance
RELATIVE_CUTOFF = 0.2  # files scoring below this share of the best are noise, not context
COCHANGE_MIN_COMMITS = 2  # shared commits before co-change counts as a link
SIMILAR_COMMITS = 20  # past commits whose messages are nearest to the task
RANKED_LIMIT = 50  # files listed in `ranked`
EXPLAINED_LIMIT = 200  # files scored in full (features, reasons) and offered to the budget
# a one-word name defined in (or a file name shared by) more files than this is too common to match:
# `value`, `__init__`, `utils` say nothing about which file is meant
MAX_WORD_NAME_FILES = 8
MIN_SCORE = 0.02 * PROSE_SHARE  # below this a file is noise, not a candidate

# Reading the task's parts (plan/anchors.py).
EXTRA_HIT = 0.1  # a second piece of evidence for a file adds this share of the weaker one
FRAME_DECAY = 0.7  # each frame further from the error (among workspace frames) weighs this much less
ERROR_NAME = 1.0  # a definition the error message names (`RST.__init__() got an unexpected keyword ...`)
CODE_COMMONNESS = 1.0  # how much a code name used by every file loses against one used by a single file
CODE_TERMS = 0.3  # query weight of the words of code blocks and traceback lines (prose words weigh 1)
TITLE_TERMS = 1.5  # query weight of the words of the task's first line
MAX_QUERY_TERMS = 96  # a longer task keeps its strongest terms (title, prose, then code), earliest first
CONDENSED_QUERY_TERMS = 48  # the same for a task too long to read whole (see plan/task.py)
LONG_QUERY = 64  # from this many terms on (and for a condensed task), the lexical signal leaves out
COMMON_SHARE = 0.1  # the words in more than this share of the files: they cost the most and tell the least
MOVED_FRAME = 0.8  # a frame whose file is not in the workspace, through the definition of its function
# a frame path, or a bare path the task names (`__init__.py`), that fits more workspace files than
# this names none of them: the task says one of many, not which
MAX_AMBIGUOUS_PATHS = 3
MODULE_HIT = 0.6  # a module the task's code imports (a name it calls there weighs 1)
OPTION_HIT = 0.8  # a literal equal to a command-line option the task passes
LITERAL_MIN_WORDS = 3  # words of a literal's constant text that must appear in a message, in order
LITERAL_COVERAGE = 0.6  # share of a literal's words that must appear in the message
LITERAL_FULL_WORDS = 6  # a match of this many words is full strength; fewer scale down
LITERAL_MAX_DF = 400  # a word in more files than this cannot narrow where a message is
# files with string literals searched for a message's literal: those holding most of its rarer words; a
# message's words are often common ones (`invalid value for`), so the file that holds it can rank below the first few
LITERAL_FILES = 32
LITERAL_TERMS = 4  # the rarest words of a message that choose those files
HEADING_CHARS = 8  # a shorter literal at the start of an output line is too common to say where it is
HEADING_HIT = 0.5  # a short literal that starts an output line (`Data variables:`), when few files have it
