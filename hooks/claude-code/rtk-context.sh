#!/bin/sh
# Claude Code PreToolUse hook for the sub-agent tool (matcher "Task|Agent"): prepends the
# context plan of a running rtk-lsp server to the sub-agent's prompt. See docs/http.md.
#
#   "hooks": {"PreToolUse": [{"matcher": "Task|Agent",
#     "hooks": [{"type": "command", "command": "/path/to/rtk-context.sh", "timeout": 10}]}]}
#
# `rtk-lsp install-hook` writes the equivalent entry (with the Python that has rtk-lsp) for you.
# Options: --budget TOKENS (whole injected block, default 4000), --detail paths|symbols|content.
# RTK_LSP_PYTHON picks the interpreter. Fail-open: without Python, without rtk_lsp, without a
# running server, or on any error, it prints nothing and exits 0, so the call goes on unchanged.
PY="${RTK_LSP_PYTHON:-python3}"
command -v "$PY" >/dev/null 2>&1 || exit 0
exec "$PY" -c '
import sys
try:
    from rtk_lsp.hook import run
except ImportError:
    sys.exit(0)
sys.exit(run(sys.argv[1:]))
' "$@"
