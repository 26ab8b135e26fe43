#!/usr/bin/env bash
# The project's test command (README): static checks, the Python suite, then the VS Code client's.
# Every suite runs even when an earlier one fails; the summary at the end names the failures.
set -uo pipefail
cd "$(dirname "$0")/.."

failed=()
suite() {
  local name=$1
  shift
  echo "== $name"
  "$@" || failed+=("$name")
}

suite "ruff check" ruff check rtk_lsp tests bench scripts
suite "ruff format" ruff format --check rtk_lsp tests bench scripts
suite "mypy (strict)" mypy rtk_lsp
suite "pytest" python3 -m pytest -q -W error
if [ -f vscode-client/ci.sh ] && [ "${RTK_SKIP_VSCODE:-0}" != 1 ]; then
  suite "vscode-client" bash vscode-client/ci.sh
fi

if [ ${#failed[@]} -gt 0 ]; then
  printf '== FAILED: %s\n' "${failed[@]}"
  exit 1
fi
echo "== all suites passed"
