#!/usr/bin/env bash
# Checks the Prometheus alert rules: syntax (promtool check rules), behaviour (promtool test rules on
# infra/prometheus/tests/*.yml), and that every alert has a test and a runbook section in README.md; then the
# Alertmanager configuration that routes them (amtool check-config, routing and inhibition tests).
# Prints one line per step; exits non-zero when a step fails.
set -uo pipefail
cd "$(dirname "$0")/../.."

rules=(infra/prometheus/rules/*.yml)
tests=(infra/prometheus/tests/*.yml)
status=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

step() { # step <name> <command...>: runs the command quietly, prints "ok"/"FAIL" and the output on failure
  local name=$1
  shift
  if "$@" >"$log" 2>&1; then
    echo "ok   $name"
  else
    echo "FAIL $name"
    sed 's/^/     /' "$log"
    status=1
  fi
}

# Debian's (and Ubuntu's) prometheus package ships promtool. Only promtool is extracted from it, so no
# Prometheus daemon is installed or started. It goes to /usr/local/bin when that is writable (root), else
# to ~/.local/bin, which this script puts on its PATH. apt-get update needs root (or sudo without a
# password, as on CI runners).
install_promtool() {
  command -v promtool >/dev/null && return 0
  local dir bin sudo=""
  [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && sudo="sudo -n"
  bin=/usr/local/bin
  [ -w "$bin" ] || bin="$HOME/.local/bin"
  dir=$(mktemp -d)
  (cd "$dir" && { apt-get download prometheus || { $sudo apt-get update && apt-get download prometheus; }; }) &&
    dpkg-deb -x "$dir"/prometheus_*.deb "$dir/x" &&
    mkdir -p "$bin" && install -m 0755 "$dir/x/usr/bin/promtool" "$bin/promtool"
  local rc=$?
  rm -rf "$dir"
  export PATH="$bin:$PATH"
  [ $rc -eq 0 ] && promtool --version
}

# amtool and the Alertmanager binary, from Debian's prometheus-alertmanager package the same way (nothing
# installed as a service, nothing started). Debian's build reads its notification templates from
# /usr/share/prometheus/alertmanager, so default.tmpl and email.tmpl go there (root or sudo).
install_alertmanager() {
  command -v amtool >/dev/null && command -v prometheus-alertmanager >/dev/null &&
    [ -f /usr/share/prometheus/alertmanager/email.tmpl ] && return 0
  local dir bin sudo="" share=/usr/share/prometheus/alertmanager
  [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && sudo="sudo -n"
  bin=/usr/local/bin
  [ -w "$bin" ] || bin="$HOME/.local/bin"
  dir=$(mktemp -d)
  (cd "$dir" && { apt-get download prometheus-alertmanager || { $sudo apt-get update && apt-get download prometheus-alertmanager; }; }) &&
    dpkg-deb -x "$dir"/prometheus-alertmanager_*.deb "$dir/x" &&
    mkdir -p "$bin" && install -m 0755 "$dir/x/usr/bin/amtool" "$dir/x/usr/bin/prometheus-alertmanager" "$bin/" &&
    $sudo mkdir -p "$share" && $sudo install -m 0644 "$dir/x$share/"*.tmpl "$share/"
  local rc=$?
  rm -rf "$dir"
  export PATH="$bin:$PATH"
  [ $rc -eq 0 ] && amtool --version
}

# Every alert of the rules has a test that expects it to fire, and a runbook anchor that README.md has.
check_coverage() {
  local alert anchor missing=0
  for alert in $(sed -n 's/^ *- alert: *\([A-Za-z0-9_]*\).*/\1/p' "${rules[@]}"); do
    if ! grep -A2 -E "alertname: *$alert\$" "${tests[@]}" | grep -q 'exp_labels'; then
      echo "alert $alert has no test in which it fires"
      missing=1
    fi
  done
  for anchor in $(sed -n 's/^ *runbook_url: *README\.md#\([a-z0-9-]*\).*/\1/p' "${rules[@]}" | sort -u); do
    if ! grep -qiE "^#+ +$anchor\$" README.md; then
      echo "runbook anchor #$anchor has no heading in README.md"
      missing=1
    fi
  done
  return $missing
}

step "promtool installed ($(command -v promtool || echo 'installing from the Debian package'))" install_promtool
if command -v promtool >/dev/null; then
  step "promtool check rules ${rules[*]}" promtool check rules "${rules[@]}"
  step "promtool test rules ${tests[*]}" promtool test rules "${tests[@]}"
fi
step "every alert has a firing test and a README runbook" check_coverage

# Alertmanager: the configuration parses (amtool check-config), every alert routes to the receivers its
# tests expect, and the inhibitions hold in a real Alertmanager (infra/checks/alertmanager.py).
step "amtool installed ($(command -v amtool || echo 'installing from the Debian package'))" install_alertmanager
if command -v amtool >/dev/null; then
  step "amtool check-config infra/alertmanager/alertmanager.yml" amtool check-config infra/alertmanager/alertmanager.yml
  step "PyYAML in .venv/alert-tools" bash scripts/python-venv.sh alert-tools PyYAML==6.0.2
  step "alertmanager routes and inhibitions (infra/alertmanager/tests)" .venv/alert-tools/bin/python \
    infra/checks/alertmanager.py "$(command -v amtool)" "$(command -v prometheus-alertmanager)"
fi
exit $status
