#!/usr/bin/env python3
"""Checks the Grafana dashboards in infra/grafana/dashboards/*.json (or the files given as arguments).

- the file is valid JSON with a uid, a title and a schemaVersion; panel ids are unique;
- every panel (rows are layout only) has a datasource and at least one target with a PromQL expression;
- every metric name in those expressions (and in the query variables) is one our services export.

The exported names are collected without starting anything and without a hard-coded list:
- the metric definitions in the TypeScript sources under apps/ and packages/
  (`new Counter|Gauge|Histogram|Summary({ name: '...' })`);
- prom-client's default metrics (collectDefaultMetrics in packages/telemetry), read from the metric
  modules (lib/metrics/*.js) of the prom-client that packages/telemetry resolves after `pnpm install`; in a
  checkout without node_modules (the CI job `infra`), of the version pinned in pnpm-lock.yaml, fetched
  with `npm pack` into a temporary folder;
- `up`, which Prometheus itself records for every scrape target.
Histograms and summaries also export <name>_bucket (histograms only), <name>_sum and <name>_count.

Prints one line per dashboard and one per problem; exits 1 when there is a problem.
"""

from __future__ import annotations

import glob
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

METRIC_TYPES = ("Counter", "Gauge", "Histogram", "Summary")
# `new Histogram({ name: 'x'` or `new Counter<'a' | 'b'>({\n  name: "x"`
TS_DEFINITION = re.compile(
    r"new\s+(?P<type>" + "|".join(METRIC_TYPES) + r")\s*(?:<[^>]*>)?\s*\(\s*\{\s*name:\s*(['\"`])(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)\2"
)


def source_files(base: str, suffix: str):
    for directory, subdirectories, files in os.walk(base):
        subdirectories[:] = [d for d in subdirectories if d not in ("node_modules", "dist", ".turbo")]
        for file in files:
            if file.endswith(suffix) and not file.endswith((".test.ts", ".d.ts")):
                yield os.path.join(directory, file)


def metrics_from_sources() -> dict[str, str]:
    """name -> type, from the metric definitions in apps/ and packages/."""
    found: dict[str, str] = {}
    for top in ("apps", "packages"):
        for path in source_files(os.path.join(ROOT, top), ".ts"):
            with open(path, encoding="utf-8") as handle:
                for match in TS_DEFINITION.finditer(handle.read()):
                    found[match["name"]] = match["type"]
    return found


def prom_client_dir() -> str | None:
    candidates = [os.path.join(ROOT, "packages", "telemetry", "node_modules", "prom-client")]
    candidates += sorted(glob.glob(os.path.join(ROOT, "node_modules", ".pnpm", "prom-client@*", "node_modules", "prom-client")))
    candidates.append(os.path.join(ROOT, "node_modules", "prom-client"))
    for candidate in candidates:
        if os.path.isdir(os.path.join(candidate, "lib", "metrics")):
            return os.path.realpath(candidate)
    return None


def fetch_pinned_prom_client(into: str) -> tuple[str | None, str]:
    """Unpacks the prom-client version that pnpm-lock.yaml pins (npm pack) under `into`."""
    try:
        with open(os.path.join(ROOT, "pnpm-lock.yaml"), encoding="utf-8") as handle:
            versions = sorted(set(re.findall(r"^\s+prom-client@(\d+\.\d+\.\d+[^:\s]*):", handle.read(), re.M)))
    except OSError as error:
        return None, f"cannot read pnpm-lock.yaml: {error}"
    if len(versions) != 1:
        return None, f"expected one prom-client version in pnpm-lock.yaml, found {versions or 'none'}"
    spec = f"prom-client@{versions[0]}"
    try:
        result = subprocess.run(
            ["npm", "pack", spec, "--silent", "--pack-destination", into],
            capture_output=True, text=True, timeout=120, check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return None, f"npm pack {spec} failed: {error}"
    archives = glob.glob(os.path.join(into, "prom-client-*.tgz"))
    if result.returncode != 0 or not archives:
        return None, f"npm pack {spec} failed: {result.stderr.strip()[-300:]}"
    with tarfile.open(archives[0]) as archive:
        members = [m for m in archive.getmembers() if m.isfile() and m.name.startswith("package/lib/metrics/")]
        if hasattr(tarfile, "data_filter"):
            archive.extractall(into, members=members, filter="data")
        else:
            archive.extractall(into, members=members)
    return os.path.join(into, "package"), f"{spec} (pinned in pnpm-lock.yaml, fetched with npm pack)"


def default_metric_patterns(directory: str) -> dict[str, str]:
    """Regex (full match) -> type for prom-client's default metrics, from lib/metrics/*.js.

    The modules name their metrics in constants (`const PROCESS_CPU_SECONDS = 'process_cpu_seconds_total'`,
    or a template such as `nodejs_heap_space_size_${metricType}_bytes`) and create them with
    `new Gauge({ name: namePrefix + CONSTANT`."""
    patterns: dict[str, str] = {}
    for path in sorted(glob.glob(os.path.join(directory, "lib", "metrics", "*.js"))):
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        constants: dict[str, str] = {}
        for match in re.finditer(r"(?:const\s+)?([A-Z][A-Z0-9_]*)(?:\[\w+\])?\s*=\s*(['\"`])((?:nodejs|process)_[^'\"`]*)\2", text):
            constants[match[1]] = match[3]
        for match in re.finditer(r"new\s+(" + "|".join(METRIC_TYPES) + r")\s*\(\s*\{\s*name:\s*namePrefix\s*\+\s*([A-Z][A-Z0-9_]*)", text):
            literal = constants.get(match[2])
            if literal is None:
                continue
            pattern = "".join("[a-z0-9_]+" if part.startswith("${") else re.escape(part) for part in re.split(r"(\$\{[^}]*\})", literal) if part)
            patterns[pattern] = match[1]
    return patterns


def allowed_patterns() -> tuple[list[re.Pattern[str]], list[str]]:
    problems: list[str] = []
    typed: dict[str, str] = {re.escape(name): kind for name, kind in metrics_from_sources().items()}
    if not typed:
        problems.append("no metric definitions found in apps/ and packages/")
    directory = prom_client_dir()
    with tempfile.TemporaryDirectory() as scratch:
        if directory is None:
            directory, origin = fetch_pinned_prom_client(scratch)
        else:
            origin = os.path.relpath(directory, ROOT)
        if directory is None:
            problems.append(f"prom-client is not installed (pnpm install) and could not be fetched: {origin}")
        else:
            defaults = default_metric_patterns(directory)
            if not defaults:
                problems.append(f"no default metrics found in {origin}")
            typed.update(defaults)
            print(f"info {len(typed) - len(defaults)} metrics from apps/ and packages/, {len(defaults)} prom-client defaults from {origin}, and up")
    typed["up"] = "Gauge"
    patterns: list[re.Pattern[str]] = []
    for pattern, kind in typed.items():
        suffixes = {"Histogram": "(_bucket|_sum|_count)?", "Summary": "(_sum|_count)?"}.get(kind, "")
        patterns.append(re.compile(f"(?:{pattern}){suffixes}"))
    return patterns, problems


KEYWORDS = {"and", "or", "unless", "bool", "by", "without", "on", "ignoring", "group_left", "group_right", "offset", "inf", "nan"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (Grafana variables are fine, they are not metrics)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)  # string literals
    names: set[str] = set()
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # ranges and subqueries
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)  # label lists
    text = re.sub(r"\boffset\s+\S+", " ", text)
    text = re.sub(r"\$\{?\w+\}?", " ", text)  # Grafana variables
    text = re.sub(r"(?<![\w:])\d+(?:\.\d*)?(?:[eE][+-]?\d+)?", " ", text)  # numbers
    for match in re.finditer(r"(?<![\w:])([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\()?", text):
        name, call = match[1], match[2]
        if call or name.lower() in KEYWORDS:
            continue  # a function or aggregation, or a keyword
        names.add(name)
    return names


def balanced(expr: str) -> bool:
    stack: list[str] = []
    pairs = {")": "(", "]": "[", "}": "{"}
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    for char in text:
        if char in "([{":
            stack.append(char)
        elif char in pairs:
            if not stack or stack.pop() != pairs[char]:
                return False
    return not stack


def walk_panels(panels):
    for panel in panels or []:
        yield panel
        yield from walk_panels(panel.get("panels"))


def check_dashboard(path: str, allowed: list[re.Pattern[str]]) -> list[str]:
    problems: list[str] = []
    try:
        with open(path, encoding="utf-8") as handle:
            dashboard = json.load(handle)
    except (OSError, ValueError) as error:
        return [f"not valid JSON: {error}"]
    if not isinstance(dashboard, dict):
        return ["the top level is not an object"]
    for key in ("uid", "title"):
        if not isinstance(dashboard.get(key), str) or not dashboard[key].strip():
            problems.append(f"missing {key}")
    if not isinstance(dashboard.get("schemaVersion"), int):
        problems.append("missing schemaVersion (an integer)")

    variables = {v.get("name") for v in dashboard.get("templating", {}).get("list", []) if isinstance(v, dict)}
    expressions: list[tuple[str, str]] = []
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") == "query":
            query = variable.get("query")
            query = query.get("query", "") if isinstance(query, dict) else str(query or "")
            match = re.fullmatch(r"\s*label_values\(\s*(.*?)\s*,\s*\w+\s*\)\s*", query)
            expressions.append((f"variable ${variable.get('name')}", match[1] if match else query))

    panels = list(walk_panels(dashboard.get("panels")))
    if not panels:
        problems.append("no panels")
    seen_ids: set[int] = set()
    for panel in panels:
        label = f"panel {panel.get('id')} {panel.get('title')!r}"
        if panel.get("id") in seen_ids:
            problems.append(f"{label}: duplicate id")
        seen_ids.add(panel.get("id"))
        if panel.get("type") == "row":
            continue  # layout only: no query
        if "gridPos" not in panel:
            problems.append(f"{label}: no gridPos")
        datasource = panel.get("datasource")
        if not isinstance(datasource, dict) or not datasource.get("uid"):
            problems.append(f"{label}: no datasource")
        elif datasource["uid"].startswith("$") and datasource["uid"].strip("${}") not in variables:
            problems.append(f"{label}: datasource {datasource['uid']} is not a dashboard variable")
        targets = panel.get("targets")
        if not isinstance(targets, list) or not targets:
            problems.append(f"{label}: no targets")
            continue
        for target in targets:
            expr = target.get("expr") if isinstance(target, dict) else None
            if not isinstance(expr, str) or not expr.strip():
                problems.append(f"{label}: target {target.get('refId') if isinstance(target, dict) else target} has no expr")
                continue
            expressions.append((f"{label} target {target.get('refId')}", expr))

    for where, expr in expressions:
        if not balanced(expr):
            problems.append(f"{where}: unbalanced brackets in {expr!r}")
        names = metric_names(expr)
        if not names:
            problems.append(f"{where}: no metric in {expr!r}")
        for name in sorted(names):
            if not any(pattern.fullmatch(name) for pattern in allowed):
                problems.append(f"{where}: metric {name} is not exported by our services")
    return problems


def main(argv: list[str]) -> int:
    paths = argv or sorted(glob.glob(os.path.join(ROOT, "infra", "grafana", "dashboards", "*.json")))
    allowed, problems = allowed_patterns()
    for problem in problems:
        print(f"FAIL {problem}")
    if not paths:
        print("FAIL no dashboards found")
        return 1
    failed = bool(problems)
    for path in paths:
        found = check_dashboard(path, allowed)
        name = os.path.relpath(path, ROOT)
        if found:
            failed = True
            print(f"FAIL {name}")
            for problem in found:
                print(f"     {problem}")
        else:
            print(f"ok   {name}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
