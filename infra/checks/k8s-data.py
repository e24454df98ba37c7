#!/usr/bin/env python3
"""Checks the operator custom resources of the data layer (infra/data/<env>, rendered).

kubernetes-validate has no schema for custom resources (it only warns), so this checks what the
environment relies on, for the operator versions named in infra/data/base:

  - CloudNativePG `Cluster` (postgresql.cnpg.io/v1): at least 3 instances with pod anti-affinity, storage
    and WAL storage sizes, memory requests equal to limits (no overcommit of shared_buffers), the
    `app.kubernetes.io/name: postgresql` label the apps' NetworkPolicies match, and a backup to object
    storage (barmanObjectStore with an s3:// destination and a retention policy);
  - `ScheduledBackup`: names an existing Cluster, uses a 6-field cron (seconds first) and the object store;
  - Milvus Operator `Milvus` (milvus.io/v1beta1): cluster mode, at least 2 query nodes and proxies,
    3 etcd members, segments in external S3, the `app.kubernetes.io/name: milvus` label.

Usage: k8s-data.py FILE...   (multi-document YAML)     k8s-data.py --self-test
"""

from __future__ import annotations

import copy
import sys

import yaml


def dig(obj, *path, default=None):
    for key in path:
        if not isinstance(obj, dict) or key not in obj:
            return default
        obj = obj[key]
    return obj


def check(objects: list[dict]) -> list[str]:
    problems: list[str] = []
    clusters = {dig(o, "metadata", "name") for o in objects if o.get("kind") == "Cluster"}
    for obj in objects:
        kind, name, spec = obj.get("kind"), dig(obj, "metadata", "name"), obj.get("spec") or {}
        where = f"{kind}/{name}"

        def need(condition: bool, message: str) -> None:
            if not condition:
                problems.append(f"{where}: {message}")

        if kind in ("Cluster", "ScheduledBackup"):
            need(obj.get("apiVersion") == "postgresql.cnpg.io/v1", f"apiVersion {obj.get('apiVersion')}, not postgresql.cnpg.io/v1")
        if kind == "Cluster":
            need(int(spec.get("instances", 1)) >= 3, "fewer than 3 instances: no failover with a replica to spare")
            need(dig(spec, "affinity", "enablePodAntiAffinity") is True, "instances may share a node")
            need(bool(dig(spec, "storage", "size")), "no storage size")
            need(bool(dig(spec, "walStorage", "size")), "no walStorage: WAL shares the data volume")
            requests, limits = dig(spec, "resources", "requests", default={}), dig(spec, "resources", "limits", default={})
            need(bool(requests.get("memory")) and requests.get("memory") == limits.get("memory"), "memory request differs from its limit")
            need(dig(spec, "inheritedMetadata", "labels", "app.kubernetes.io/name") == "postgresql", "pods lack the label app.kubernetes.io/name: postgresql")
            store = dig(spec, "backup", "barmanObjectStore", default={})
            need(str(store.get("destinationPath", "")).startswith("s3://"), "no backup to an s3:// destination")
            need(bool(dig(spec, "backup", "retentionPolicy")), "no backup retentionPolicy")
        elif kind == "ScheduledBackup":
            need(dig(spec, "cluster", "name") in clusters, f"cluster {dig(spec, 'cluster', 'name')!r} is not defined here")
            need(len(str(spec.get("schedule", "")).split()) == 6, "schedule is not a 6-field cron (seconds first)")
            need(spec.get("method", "barmanObjectStore") == "barmanObjectStore", "method is not barmanObjectStore")
        elif kind == "Milvus":
            need(obj.get("apiVersion") == "milvus.io/v1beta1", f"apiVersion {obj.get('apiVersion')}, not milvus.io/v1beta1")
            need(spec.get("mode") == "cluster", "not in cluster mode")
            components = spec.get("components") or {}
            need(int(dig(components, "queryNode", "replicas", default=1)) >= 2, "fewer than 2 query nodes")
            need(int(dig(components, "proxy", "replicas", default=1)) >= 2, "fewer than 2 proxies")
            need(int(dig(spec, "dependencies", "etcd", "inCluster", "values", "replicaCount", default=1)) >= 3, "fewer than 3 etcd members")
            need(dig(spec, "dependencies", "storage", "external") is True and dig(spec, "dependencies", "storage", "type") == "S3", "segments not in external S3")
            need(dig(obj, "metadata", "labels", "app.kubernetes.io/name") == "milvus", "lacks the label app.kubernetes.io/name: milvus")
    if not any(o.get("kind") == "ScheduledBackup" for o in objects) and clusters:
        problems.append("no ScheduledBackup for the PostgreSQL cluster")
    return problems


def load(text: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(text) if isinstance(doc, dict)]


def self_test() -> int:
    from pathlib import Path

    base = Path(__file__).resolve().parents[1] / "data/base"
    good = load((base / "postgres-cluster.yaml").read_text()) + load((base / "milvus.yaml").read_text())
    failures = [f"the committed base is flagged: {p}" for p in check(good)]
    bad_cases = {
        "fewer than 3 instances": ("Cluster", ["spec", "instances"], 1),
        "no backup to an s3://": ("Cluster", ["spec", "backup"], {}),
        "not a 6-field cron": ("ScheduledBackup", ["spec", "schedule"], "0 3 * * *"),
        "not in cluster mode": ("Milvus", ["spec", "mode"], "standalone"),
        "fewer than 2 query nodes": ("Milvus", ["spec", "components", "queryNode", "replicas"], 1),
    }
    for expected, (kind, path, value) in bad_cases.items():
        objects = copy.deepcopy(good)
        target = next(o for o in objects if o["kind"] == kind)
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        if not any(expected in p for p in check(objects)):
            failures.append(f"not caught: {expected}")
    for failure in failures:
        print(f"k8s-data self-test: FAIL {failure}")
    if not failures:
        print(f"k8s-data self-test: ok ({len(bad_cases)} bad cases caught)")
    return 1 if failures else 0


def main(argv: list[str]) -> int:
    if argv == ["--self-test"]:
        return self_test()
    if not argv or any(a.startswith("--") for a in argv):
        print(__doc__.strip().split("\n\n")[-1], file=sys.stderr)
        return 2
    status = 0
    for path in argv:
        problems = check(load(open(path, encoding="utf-8").read()))
        for problem in problems:
            print(f"data {path}: FAIL {problem}")
        if not problems:
            print(f"data {path}: ok")
        status |= bool(problems)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
