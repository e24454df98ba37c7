#!/usr/bin/env python3
"""Runs the record-shaping part of infra/logging/fluent-bit/fluent-bit.conf over container log lines.

Fluent Bit itself is not installable here (no Debian, PyPI or npm package), so its own `--dry-run` cannot
check the file. This reads the configuration as Fluent Bit does (sections, `Key Value` lines, repeated keys)
and applies what decides which records leave a node and with which fields, with Fluent Bit's documented
semantics:

  - tail with `multiline.parser cri`: `<time> <stream> <P|F> <text>` lines, P (partial) lines joined with
    the following ones up to the F line;
  - kubernetes filter with `Merge_Log On`: a `log` that is a JSON object becomes top-level fields, and with
    `Keep_Log Off` the `log` key goes (the pod metadata lookup needs an API server and is left out);
  - grep: `Regex`/`Exclude` rules on top-level keys, combined per `Logical_Op` (legacy, and, or);
  - modify: `Remove`, `Rename`, `Add`.

A plugin or an option it does not know is an error, not silently skipped: the emulation never claims more
than it runs. Reads CRI lines from the file given (or stdin) and prints one JSON record per line.

Usage: log-pipeline.py [--config FILE] [LOGFILE]
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "logging/fluent-bit/fluent-bit.conf"
CRI_LINE = re.compile(r"^(?P<time>\S+) (?P<stream>stdout|stderr) (?P<logtag>[PF])(?:\S*) ?(?P<log>.*)$")

# Options each plugin may carry here; those marked None do not change records (paths, buffers, transport).
KNOWN = {
    ("input", "tail"): {"tag", "path", "multiline.parser", "db", "storage.type", "mem_buf_limit", "skip_long_lines", "refresh_interval", "read_from_head"},
    ("filter", "kubernetes"): {"match", "merge_log", "keep_log", "labels", "annotations", "k8s-logging.exclude", "k8s-logging.parser", "buffer_size", "kube_url", "use_kubelet"},
    ("filter", "grep"): {"match", "logical_op", "regex", "exclude"},
    ("filter", "modify"): {"match", "remove", "rename", "add"},
    ("output", "opensearch"): {"match", "host", "port", "http_user", "http_passwd", "tls", "tls.verify", "logstash_format", "logstash_prefix", "time_key", "replace_dots", "suppress_type_name", "trace_error", "retry_limit", "index"},
    ("output", "loki"): {"match", "host", "port", "http_user", "http_passwd", "tls", "tls.verify", "labels", "label_keys", "line_format", "remove_keys", "auto_kubernetes_labels"},
}


def read_config(path: Path) -> list[tuple[str, list[tuple[str, str]]]]:
    """Sections in order, each with its (lower-cased key, value) pairs; repeated keys kept."""
    sections: list[tuple[str, list[tuple[str, str]]]] = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            sections.append((line[1:-1].strip().lower(), []))
            continue
        if not sections or not raw.startswith((" ", "\t")):
            raise ValueError(f"{path}:{number}: expected an indented `Key Value` inside a section: {raw!r}")
        key, _, value = line.partition(" ")
        sections[-1][1].append((key.lower(), value.strip()))
    return sections


def on(value: str) -> bool:
    return value.lower() in ("on", "true", "yes", "1")


def build(path: Path):
    """The configured stages as functions record -> record | None, after checking every option is known."""
    stages = []
    multiline = None
    for kind, options in read_config(path):
        if kind == "service":
            continue
        name = dict(options).get("name", "").lower()
        known = KNOWN.get((kind, name))
        if known is None:
            raise ValueError(f"[{kind.upper()}] {name}: plugin not emulated by {Path(__file__).name}")
        for key, _ in options:
            if key != "name" and key not in known:
                raise ValueError(f"[{kind.upper()}] {name}: option {key} not emulated by {Path(__file__).name}")
        values = dict(options)
        if kind == "input":
            multiline = values.get("multiline.parser")
            if multiline != "cri":
                raise ValueError(f"tail: multiline.parser {multiline!r}; only cri is emulated")
        elif name == "kubernetes":
            stages.append(kubernetes_stage(values))
        elif name == "grep":
            stages.append(grep_stage(options, values.get("logical_op", "legacy").lower()))
        elif name == "modify":
            stages.append(modify_stage(options))
    if multiline is None:
        raise ValueError("no tail input")
    return stages


def kubernetes_stage(values: dict[str, str]):
    merge, keep = on(values.get("merge_log", "off")), on(values.get("keep_log", "on"))

    def stage(record: dict) -> dict:
        if not merge:
            return record
        try:
            parsed = json.loads(record.get("log", ""))
        except ValueError:
            return record
        if not isinstance(parsed, dict):
            return record
        merged = {**record, **parsed}
        if not keep:
            merged.pop("log", None)
        return merged

    return stage


def grep_stage(options: list[tuple[str, str]], logical_op: str):
    rules = []
    for key, value in options:
        if key in ("regex", "exclude"):
            field, _, pattern = value.partition(" ")
            rules.append((key, field.lstrip("$"), re.compile(pattern.strip())))
    if logical_op not in ("legacy", "and", "or"):
        raise ValueError(f"grep: Logical_Op {logical_op!r}")
    if logical_op != "legacy" and len({kind for kind, _, _ in rules}) > 1:
        raise ValueError("grep: Regex and Exclude cannot be mixed with Logical_Op")

    def matches(record: dict, field: str, pattern: re.Pattern) -> bool:
        value = record.get(field)
        return value is not None and bool(pattern.search(value if isinstance(value, str) else json.dumps(value)))

    def stage(record: dict) -> dict | None:
        results = [(kind, matches(record, field, pattern)) for kind, field, pattern in rules]
        if logical_op == "legacy":
            # Every Regex must match and no Exclude may.
            keep = all(hit for kind, hit in results if kind == "regex") and not any(
                hit for kind, hit in results if kind == "exclude"
            )
        else:
            combined = all(hit for _, hit in results) if logical_op == "and" else any(hit for _, hit in results)
            keep = combined if results[0][0] == "regex" else not combined
        return record if keep else None

    return stage


def modify_stage(options: list[tuple[str, str]]):
    def stage(record: dict) -> dict:
        record = dict(record)
        for key, value in options:
            if key == "remove":
                record.pop(value, None)
            elif key == "rename":
                old, _, new = value.partition(" ")
                if old in record and new.strip() not in record:
                    record[new.strip()] = record.pop(old)
            elif key == "add":
                field, _, content = value.partition(" ")
                record.setdefault(field, content.strip())
        return record

    return stage


def cri_records(lines):
    """Records as the tail input with the cri multiline parser makes them (partial lines joined)."""
    pending = None
    for number, line in enumerate(lines, 1):
        line = line.rstrip("\n")
        if not line:
            continue
        match = CRI_LINE.match(line)
        if not match:
            raise ValueError(f"line {number} is not in the CRI log format: {line[:120]!r}")
        part = match.groupdict()
        if pending is not None:
            pending["log"] += part["log"]
            pending["logtag"] = part["logtag"]
        else:
            pending = part
        if part["logtag"] == "F":
            yield pending
            pending = None
    if pending is not None:
        yield pending


def run(config: Path, lines) -> list[dict]:
    stages = build(config)
    out = []
    for record in cri_records(lines):
        for stage in stages:
            record = stage(record)
            if record is None:
                break
        if record is not None:
            out.append(record)
    return out


def main(argv: list[str]) -> int:
    config = DEFAULT_CONFIG
    if argv[:1] == ["--config"] and len(argv) >= 2:
        config, argv = Path(argv[1]), argv[2:]
    if len(argv) > 1 or any(a.startswith("--") for a in argv):
        print(__doc__.strip().split("\n\n")[-1], file=sys.stderr)
        return 2
    source = open(argv[0], encoding="utf-8") if argv else sys.stdin
    try:
        for record in run(config, source):
            print(json.dumps(record, ensure_ascii=False))
    except ValueError as error:
        print(f"log-pipeline: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
