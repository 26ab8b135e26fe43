#!/usr/bin/env bash
# The README's install paths, each run as written (the `<!-- ci: NAME -->` blocks) in a fresh home
# directory, on a copy of the source tree, with the PATH of a fresh Debian (so no rtk-lsp or Python
# of this machine's own is found); then the wheel and sdist they built are checked. The VS Code
# path is covered by vscode-client/ci.sh (its e2e test installs the server through the extension).
# Needs Debian's pipx and python3-venv, git and PyPI. Ends with `install: N passed, N failed`.
set -uo pipefail

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/rtk-install.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
# The fresh homes share one download cache, so each install does not fetch every dependency again.
export PIP_CACHE_DIR="${PIP_CACHE_DIR:-$HOME/.cache/pip}"
CLEAN_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
T0=$(date +%s)
PASSED=0
FAILED=0

step() { echo "=== [install $(($(date +%s) - T0))s] $*"; }
ok() {
  PASSED=$((PASSED + 1))
  echo "ok: $*"
}
bad() {
  FAILED=$((FAILED + 1))
  echo "FAILED: $*"
}

# The lines of the fenced block that follows `<!-- ci: NAME -->` in the README.
block() {
  awk -v tag="<!-- ci: $1 -->" '
    $0 == tag { found = 1; next }
    found && /^```/ { if (inside) exit; inside = 1; next }
    found && inside { print }
  ' "$SRC/README.md"
}

# A copy of the source tree as git sees it (tracked and untracked-not-ignored files, symlinks kept).
copy_source() {
  mkdir -p "$1"
  (cd "$SRC" && git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf -) | tar -xf - -C "$1"
}

# Runs README block $1 in a fresh home on a fresh copy of the source; its output goes to $WORK/$1.log.
run_block() {
  local name=$1 script home="$WORK/$1/home" tree="$WORK/$1/src"
  script="$(block "$name")"
  if [[ -z "$script" ]]; then
    bad "README has no block <!-- ci: $name -->"
    return 1
  fi
  mkdir -p "$home"
  copy_source "$tree"
  printf -- '--- README block %s:\n%s\n' "$name" "$script"
  (
    cd "$tree" || exit 1
    export HOME="$home" PATH="$CLEAN_PATH"
    unset XDG_CACHE_HOME XDG_DATA_HOME XDG_CONFIG_HOME XDG_RUNTIME_DIR VIRTUAL_ENV PYTHONPATH PIPX_HOME PIPX_BIN_DIR
    if command -v rtk-lsp >/dev/null; then
      echo "rtk-lsp is already on the clean PATH: $(command -v rtk-lsp)"
      exit 1
    fi
    # As root (CI) without sudo installed, `sudo CMD` runs CMD.
    if [[ $EUID -eq 0 ]] && ! command -v sudo >/dev/null; then
      sudo() { "$@"; }
      export -f sudo
    fi
    timeout 900 bash -euo pipefail -c "$script"
  ) >"$WORK/$name.log" 2>&1
  local rc=$?
  tail -25 "$WORK/$name.log"
  if ((rc != 0)); then
    bad "README block $name exited with $rc"
    return 1
  fi
  # The demo's plan: the file the task names comes first.
  if grep -q '^ 1\. billing/invoice\.py' "$WORK/$name.log" && grep -q 'of 7 candidates' "$WORK/$name.log"; then
    ok "README block $name: installed, and rtk-lsp demo planned billing/invoice.py first"
  else
    bad "README block $name: rtk-lsp demo did not print the expected plan"
    return 1
  fi
}

step "quick start (first screen): apt pipx, pipx install ., rtk-lsp demo"
run_block quick-start
[[ -x "$WORK/quick-start/home/.local/bin/rtk-lsp" ]] && ok "pipx put rtk-lsp in ~/.local/bin" ||
  bad "no ~/.local/bin/rtk-lsp after the quick start"

step "virtual environment from the source tree"
run_block venv

step "wheel: build wheel and sdist, install the wheel into a fresh venv, demo from the home directory"
if run_block wheel; then
  home="$WORK/wheel/home"
  # The installed package, not the source copy, answered: run from elsewhere and look where it lives.
  where=$(cd "$WORK" && env -i HOME="$home" PATH="$CLEAN_PATH" "$home/rtk/bin/python" -c 'import rtk_lsp; print(rtk_lsp.__file__)')
  [[ "$where" == "$home/rtk/lib/"* ]] && ok "rtk_lsp imported from the venv ($where)" ||
    bad "rtk_lsp imported from $where, not from the wheel's venv"
  if out=$(cd "$WORK" && env -i HOME="$home" PATH="$CLEAN_PATH" "$home/rtk/bin/rtk-lsp" plan \
    "fix the discount rounding in InvoiceCalculator.apply_discount" --root "$SRC/examples/shop" --no-server 2>&1) &&
    grep -q '^ 1\. billing/invoice\.py' <<<"$out"; then
    ok "the installed rtk-lsp plans --root examples/shop of the source tree"
  else
    bad "rtk-lsp plan --root examples/shop: $out"
  fi
  step "wheel and sdist contents"
  if "$home/rtk/bin/python" "$SRC/scripts/check_dist.py" "$SRC" "$WORK/wheel/src/dist"; then
    ok "wheel and sdist hold the licence, metadata and every package file"
  else
    bad "wheel or sdist contents"
  fi
fi

step "done in $(($(date +%s) - T0))s"
echo "install: $PASSED passed, $FAILED failed"
((FAILED == 0))
