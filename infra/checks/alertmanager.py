#!/usr/bin/env python3
"""Tests infra/alertmanager/alertmanager.yml against infra/alertmanager/tests/alertmanager.test.yml.

  - routes: every alert of infra/prometheus/rules/*.yml has an expectation, and `amtool config routes test
    --verify.receivers` resolves the rule's labels (alertname plus its static labels) to exactly those
    receivers; so do the `other_routes` label sets;
  - inhibitions: a real Alertmanager (the Debian package's binary) runs the configuration on a private
    port, with the secret files pointed at a scratch folder; each case's alerts are posted at once and read
    back from the v2 API, whose `status.inhibitedBy` must be non-empty exactly for the alerts marked
    `inhibited: true` (one fresh Alertmanager per case). Nothing is sent: the webhook URLs in the scratch secrets point at a closed port.

Usage: alertmanager.py AMTOOL ALERTMANAGER    (paths of the binaries; infra/checks/alerts.sh installs them)
Prints one line per case (`ok` or `FAIL` with the reason) and exits 1 if any fails.
"""

from __future__ import annotations

import glob
import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml

CONFIG = Path("infra/alertmanager/alertmanager.yml")
TESTS = Path("infra/alertmanager/tests/alertmanager.test.yml")
SECRETS_DIR = "/etc/alertmanager/secrets/rag-alertmanager-receivers/"


def rule_labels() -> dict[str, dict[str, str]]:
    """Every alert of the rule files with the labels its rule sets."""
    alerts: dict[str, dict[str, str]] = {}
    for path in sorted(glob.glob("infra/prometheus/rules/*.yml")):
        for group in yaml.safe_load(open(path, encoding="utf-8"))["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    alerts[rule["alert"]] = {"alertname": rule["alert"], **(rule.get("labels") or {})}
    return alerts


def route_test(amtool: str, labels: dict[str, str], receivers: list[str]) -> str | None:
    result = subprocess.run(
        [amtool, "config", "routes", "test", f"--config.file={CONFIG}", f"--verify.receivers={','.join(receivers)}"]
        + [f"{key}={value}" for key, value in labels.items()],
        capture_output=True,
        text=True,
    )
    if result.returncode == 0:
        return None
    got = result.stdout.strip().splitlines()[0] if result.stdout.strip() else result.stderr.strip()
    return f"routed to {got}, expected {','.join(receivers)}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api(base: str, path: str, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        text = response.read()
        return json.loads(text) if text else None


def start_alertmanager(binary: str, scratch: Path) -> tuple[subprocess.Popen, str]:
    """The configuration as committed, but with the secret files in scratch (closed-port webhooks, dummy keys)."""
    secrets = scratch / "secrets"
    secrets.mkdir()
    text = CONFIG.read_text(encoding="utf-8")
    for name in {line.split(SECRETS_DIR, 1)[1].split()[0] for line in text.splitlines() if SECRETS_DIR in line}:
        value = "http://127.0.0.1:9/" if "webhook" in name else "0" * 32
        (secrets / name).write_text(value + "\n")
    config = scratch / "alertmanager.yml"
    config.write_text(text.replace(SECRETS_DIR, f"{secrets}/"), encoding="utf-8")
    port, cluster = free_port(), free_port()
    process = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.path={scratch / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", f"--cluster.listen-address="],
        stdout=subprocess.DEVNULL,
        stderr=open(scratch / "alertmanager.log", "w"),
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "/-/ready", timeout=5).close()
            return process, base
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"alertmanager did not start: {(scratch / 'alertmanager.log').read_text()[-2000:]}")


def inhibition_case(base: str, case: dict, rules: dict[str, dict[str, str]]) -> str | None:
    sent, expected = [], {}
    for alert in case["alerts"]:
        alert = dict(alert)
        inhibited = bool(alert.pop("inhibited", False))
        labels = {**rules[alert["alertname"]], **{k: str(v) for k, v in alert.items()}}
        sent.append({"labels": labels, "annotations": {}})
        expected[json.dumps(labels, sort_keys=True)] = inhibited
    api(base, "/api/v2/alerts", sent)
    got = {
        json.dumps(a["labels"], sort_keys=True): bool(a["status"]["inhibitedBy"])
        for a in api(base, "/api/v2/alerts")
    }
    wrong = [
        f"{json.loads(key)['alertname']} {'not ' if want else ''}inhibited"
        for key, want in expected.items()
        if got.get(key) != want
    ]
    return "; ".join(wrong) or None


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().split("\n\n")[-1], file=sys.stderr)
        return 2
    amtool, binary = argv
    tests = yaml.safe_load(TESTS.read_text(encoding="utf-8"))
    rules = rule_labels()
    failures = 0

    def report(name: str, problem: str | None) -> None:
        nonlocal failures
        print(f"FAIL {name}: {problem}" if problem else f"ok   {name}")
        failures += bool(problem)

    for alert in sorted(set(rules) - set(tests["routes"])):
        report(f"route {alert}", "no expected receivers in the routing tests")
    for alert in sorted(set(tests["routes"]) - set(rules)):
        report(f"route {alert}", "expected receivers for an alert that no rule defines")
    for alert, receivers in tests["routes"].items():
        if alert in rules:
            report(f"route {alert} -> {','.join(receivers)}", route_test(amtool, rules[alert], receivers))
    for case in tests.get("other_routes") or []:
        labels = {k: str(v) for k, v in case["labels"].items()}
        report(f"route {labels} -> {','.join(case['receivers'])}", route_test(amtool, labels, case["receivers"]))

    # The inhibition rules use the rules' own labels, so an alert the tests name must exist.
    unknown = {a["alertname"] for c in tests["inhibitions"] for a in c["alerts"]} - set(rules)
    if unknown:
        report("inhibition tests", f"alerts no rule defines: {sorted(unknown)}")
        return 1
    # A fresh Alertmanager per case: an earlier case's alerts would stay active and inhibit this one's.
    for case in tests["inhibitions"]:
        with tempfile.TemporaryDirectory() as scratch:
            process, base = start_alertmanager(binary, Path(scratch))
            try:
                report(f"inhibition: {case['name']}", inhibition_case(base, case, rules))
            finally:
                process.terminate()
                process.wait(timeout=10)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
