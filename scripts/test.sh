#!/usr/bin/env bash
# The project's test command (README): static checks, then the Python suite, then the VS Code client's.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== ruff"
ruff check rtk_lsp tests bench scripts
ruff format --check rtk_lsp tests bench scripts
echo "== mypy (strict)"
mypy rtk_lsp
echo "== pytest"
python3 -m pytest -q -W error
if [ -f vscode-client/ci.sh ] && [ "${RTK_SKIP_VSCODE:-0}" != 1 ]; then
  echo "== vscode-client"
  bash vscode-client/ci.sh
fi
