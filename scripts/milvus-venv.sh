#!/usr/bin/env bash
# Creates .venv/milvus, the Python environment that runs Milvus Lite for integration tests and
# `pnpm start`. Idempotent: a marker file records what was installed, so a second run costs nothing.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$repo_root/.venv/milvus"
marker="$venv/.milvus-packages"
# milvus-lite imports pymilvus without declaring it, so both are pinned here together.
packages=(milvus-lite==3.2.2 pymilvus==3.0.2)
wanted="${packages[*]}"

if [[ -x "$venv/bin/python" && -f "$marker" && "$(cat "$marker")" == "$wanted" ]]; then
  exit 0
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
fail() {
  echo "milvus-venv: $1" >&2
  if [[ -s "$log" ]]; then
    echo "--- last output ---" >&2
    tail -n 30 "$log" >&2
  fi
  exit 1
}

command -v python3 >/dev/null 2>&1 || fail "python3 not found; Milvus Lite needs Python 3.10 or newer"
python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' ||
  fail "python3 is $(python3 --version 2>&1); Milvus Lite needs Python 3.10 or newer"

if [[ ! -x "$venv/bin/python" ]]; then
  python3 -m venv "$venv" >"$log" 2>&1 ||
    fail "could not create $venv (on Debian/Ubuntu: apt-get install python3-venv)"
fi

"$venv/bin/python" -m pip install --disable-pip-version-check --no-input --quiet "${packages[@]}" >"$log" 2>&1 ||
  fail "pip install ${wanted} failed"
"$venv/bin/python" -c 'import milvus_lite.cmdline, pymilvus' >"$log" 2>&1 ||
  fail "packages installed but milvus_lite does not import"

echo "$wanted" >"$marker"
