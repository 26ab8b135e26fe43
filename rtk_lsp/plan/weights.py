"""Every ranking constant in one place.

A file's score is `structure multiplier x sum(weight_i x signal_i)`, each signal
normalised to [0, 1] over the candidates of one plan. The signal weights sum to 1,
so a score is in [0, 1] too; `tests/unit/test_plan.py` checks both facts.
"""

from __future__ import annotations

from types import MappingProxyType

SIGNAL_WEIGHTS = MappingProxyType(
    {
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
)

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
MAX_WORD_NAME_FILES = 8  # a one-word name defined in more files than this is too common to match
MIN_SCORE = 0.02  # below this a file is noise, not a candidate
