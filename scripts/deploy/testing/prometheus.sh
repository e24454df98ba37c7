#!/usr/bin/env bash
# Prints the path of a Prometheus server binary for tests of the deploy scripts' error-ratio gate: the one on
# PATH, else the one from Debian's prometheus package, extracted (not installed) into .venv/prometheus once.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
if command -v prometheus >/dev/null 2>&1; then
  command -v prometheus
  exit 0
fi
bin="$repo_root/.venv/prometheus/usr/bin/prometheus"
if [[ ! -x $bin ]]; then
  dir="$(mktemp -d)"
  trap 'rm -rf "$dir"' EXIT
  sudo=""
  [[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null && sudo="sudo -n"
  (cd "$dir" && { apt-get download prometheus >/dev/null 2>&1 ||
    { $sudo apt-get update >/dev/null && apt-get download prometheus >/dev/null 2>&1; }; }) ||
    { echo "prometheus.sh: could not download Debian's prometheus package" >&2; exit 1; }
  mkdir -p "$repo_root/.venv/prometheus"
  dpkg-deb -x "$dir"/prometheus_*.deb "$repo_root/.venv/prometheus"
fi
echo "$bin"
