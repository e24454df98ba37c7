#!/usr/bin/env bash
# Usage: python-venv.sh NAME PACKAGE==VERSION...
# Creates .venv/NAME with exactly these packages. Idempotent: a marker file records what was installed, so a
# second run costs nothing. Quiet on success; on failure it says what went wrong and shows pip's last output.
set -euo pipefail

[[ $# -ge 2 ]] || { echo "usage: $0 NAME PACKAGE==VERSION..." >&2; exit 2; }
name=$1
shift
packages=("$@")
wanted="${packages[*]}"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$repo_root/.venv/$name"
marker="$venv/.installed-packages"

if [[ -x "$venv/bin/python" && -f "$marker" && "$(cat "$marker")" == "$wanted" ]]; then
  exit 0
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
fail() {
  echo "python-venv ($name): $1" >&2
  if [[ -s "$log" ]]; then
    echo "--- last output ---" >&2
    tail -n 30 "$log" >&2
  fi
  exit 1
}

command -v python3 >/dev/null 2>&1 || fail "python3 not found; Python 3.10 or newer is needed"
python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' ||
  fail "python3 is $(python3 --version 2>&1); Python 3.10 or newer is needed"

if [[ ! -x "$venv/bin/python" ]]; then
  python3 -m venv "$venv" >"$log" 2>&1 ||
    fail "could not create $venv (on Debian/Ubuntu: apt-get install python3-venv)"
fi

"$venv/bin/python" -m pip install --disable-pip-version-check --no-input --quiet "${packages[@]}" >"$log" 2>&1 ||
  fail "pip install ${wanted} failed"

echo "$wanted" >"$marker"
