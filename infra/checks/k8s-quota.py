#!/usr/bin/env python3
"""Checks that each namespace's ResourceQuota and LimitRange fit the workloads rendered into it.

A quota that is smaller than what the autoscalers may ask for fails silently in a cluster: the HPA raises the
replica count, the ReplicaSet cannot create the pods (`exceeded quota` events) and the service stays short at
peak. So the need is computed from the rendered manifests, at the worst moment:

  - a Deployment at its HPA's maxReplicas (its own `replicas` without an HPA) plus the rolling update's
    maxSurge (rounded up, as the Deployment controller does), a StatefulSet at `replicas` (its rolling update
    replaces pods one at a time, no surge), a Job at `parallelism`;
  - a pod's request or limit is the larger of its containers' sum and its largest init container (the
    scheduler's rule); extended resources such as nvidia.com/gpu request what they limit;
  - PersistentVolumeClaims from StatefulSet volumeClaimTemplates (per replica) and standalone claims;
  - times the annotation `rag-system.io/release-copies` on the ResourceQuota (default 1): a blue-green
    namespace runs two releases at once between a switch and the retirement of the old color.

Every resource the quota bounds (pods, requests.*, limits.*, bare cpu/memory, requests.storage,
persistentvolumeclaims) must cover the need. Every container must also fit the LimitRange: at or under
`max`, at or over `min`, once the LimitRange defaults are filled in.

Usage: k8s-quota.py FILE...   (multi-document YAML, the output of `kubectl kustomize`; `-` reads stdin)
       k8s-quota.py --self-test
Prints per namespace the need against the quota, and exits 1 if anything does not fit or a namespace with
workloads has no ResourceQuota or no LimitRange.
"""

from __future__ import annotations

import math
import re
import sys
from collections import defaultdict
from decimal import Decimal

import yaml

COPIES_ANNOTATION = "rag-system.io/release-copies"
SUFFIXES = {
    "m": Decimal("0.001"), "k": Decimal(10) ** 3, "M": Decimal(10) ** 6, "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12, "Ki": Decimal(2) ** 10, "Mi": Decimal(2) ** 20, "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
}
QUANTITY = re.compile(r"^([0-9.]+)([a-zA-Z]*)$")


def quantity(value) -> Decimal:
    """A Kubernetes quantity ("500m", "2Gi", 3) as a number of base units."""
    match = QUANTITY.match(str(value).strip())
    if not match or match.group(2) not in SUFFIXES and match.group(2) != "":
        raise ValueError(f"not a Kubernetes quantity: {value!r}")
    number, suffix = match.groups()
    return Decimal(number) * SUFFIXES.get(suffix, Decimal(1))


def show(resource: str, value: Decimal) -> str:
    if resource.endswith("memory") or resource.endswith("storage"):
        return f"{value / SUFFIXES['Mi']:.0f}Mi"
    if resource.endswith("cpu"):
        return f"{value * 1000:.0f}m"
    return f"{value.normalize():f}"


def meta(obj: dict) -> dict:
    return obj.get("metadata") or {}


def scaled_count(obj: dict, hpas: dict) -> tuple[int, str]:
    """How many pods of a workload may exist at once, and why."""
    kind, spec = obj["kind"], obj.get("spec") or {}
    if kind == "Job":
        return int(spec.get("parallelism", 1)), "parallelism"
    if kind == "CronJob":
        job = (spec.get("jobTemplate") or {}).get("spec") or {}
        # Forbid keeps one run at a time; otherwise a late run may overlap the next.
        runs = 1 if spec.get("concurrencyPolicy") == "Forbid" else 2
        return runs * int(job.get("parallelism", 1)), f"{runs} run(s)"
    hpa = hpas.get((meta(obj).get("namespace"), kind, meta(obj).get("name")))
    replicas = int(hpa["spec"]["maxReplicas"]) if hpa else int(spec.get("replicas", 1))
    why = "HPA max" if hpa else "replicas"
    if kind == "Deployment":
        strategy = spec.get("strategy") or {}
        if strategy.get("type", "RollingUpdate") == "RollingUpdate":
            surge = (strategy.get("rollingUpdate") or {}).get("maxSurge", "25%")
            extra = math.ceil(replicas * int(surge[:-1]) / 100) if str(surge).endswith("%") else int(surge)
            return replicas + extra, f"{why} {replicas} + surge {extra}"
    return replicas, why


def pod_template(obj: dict) -> dict:
    spec = obj.get("spec") or {}
    if obj["kind"] == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    return (spec.get("template") or {}).get("spec") or {}


def container_resources(container: dict, limit_range: dict | None) -> tuple[dict, dict]:
    """Requests and limits as admitted: LimitRange defaults filled in, requests defaulting to limits."""
    resources = container.get("resources") or {}
    limits = {k: quantity(v) for k, v in (resources.get("limits") or {}).items()}
    requests = {k: quantity(v) for k, v in (resources.get("requests") or {}).items()}
    # API defaulting (a request equals its limit) runs before the LimitRange admission fills in the rest.
    for key, value in limits.items():
        requests.setdefault(key, value)
    if limit_range:
        for key, value in (limit_range.get("default") or {}).items():
            limits.setdefault(key, quantity(value))
        defaults = {**(limit_range.get("default") or {}), **(limit_range.get("defaultRequest") or {})}
        for key, value in defaults.items():
            requests.setdefault(key, quantity(value))
    return requests, limits


def pod_resources(pod: dict, limit_range: dict | None) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for container in pod.get("containers") or []:
        requests, limits = container_resources(container, limit_range)
        for key, value in requests.items():
            totals[f"requests.{key}"] += value
        for key, value in limits.items():
            totals[f"limits.{key}"] += value
    for container in pod.get("initContainers") or []:
        requests, limits = container_resources(container, limit_range)
        for section, values in (("requests", requests), ("limits", limits)):
            for key, value in values.items():
                totals[f"{section}.{key}"] = max(totals[f"{section}.{key}"], value)
    return totals


def container_limit_range(objects: list[dict], namespace: str) -> dict | None:
    for obj in objects:
        if obj.get("kind") == "LimitRange" and meta(obj).get("namespace") == namespace:
            for item in (obj.get("spec") or {}).get("limits") or []:
                if item.get("type") == "Container":
                    return item
    return None


def check(objects: list[dict]) -> tuple[list[str], list[str]]:
    """(problems, report lines) for every namespace that has workloads or a quota."""
    problems: list[str] = []
    report: list[str] = []
    hpas = {
        (meta(h).get("namespace"), h["spec"]["scaleTargetRef"]["kind"], h["spec"]["scaleTargetRef"]["name"]): h
        for h in objects
        if h.get("kind") == "HorizontalPodAutoscaler"
    }
    need: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    workloads: dict[str, int] = defaultdict(int)
    for obj in objects:
        kind, namespace = obj.get("kind"), meta(obj).get("namespace")
        if kind not in ("Deployment", "StatefulSet", "Job", "CronJob", "PersistentVolumeClaim"):
            continue
        if kind == "PersistentVolumeClaim":
            need[namespace]["persistentvolumeclaims"] += 1
            need[namespace]["requests.storage"] += quantity(obj["spec"]["resources"]["requests"]["storage"])
            continue
        workloads[namespace] += 1
        limit_range = container_limit_range(objects, namespace)
        pod = pod_template(obj)
        count, _ = scaled_count(obj, hpas)
        need[namespace]["pods"] += count
        for key, value in pod_resources(pod, limit_range).items():
            need[namespace][key] += count * value
        for claim in (obj.get("spec") or {}).get("volumeClaimTemplates") or [] if kind == "StatefulSet" else []:
            need[namespace]["persistentvolumeclaims"] += count
            need[namespace]["requests.storage"] += count * quantity(claim["spec"]["resources"]["requests"]["storage"])
        for container in (pod.get("containers") or []) + (pod.get("initContainers") or []):
            problems += limit_range_problems(f"{kind}/{meta(obj).get('name')} container {container.get('name')}", container, limit_range)

    quotas = [o for o in objects if o.get("kind") == "ResourceQuota"]
    for namespace in sorted(set(workloads) | {meta(q).get("namespace") for q in quotas}, key=str):
        mine = [q for q in quotas if meta(q).get("namespace") == namespace]
        if workloads.get(namespace) and not mine:
            problems.append(f"namespace {namespace}: workloads but no ResourceQuota")
        if workloads.get(namespace) and not container_limit_range(objects, namespace):
            problems.append(f"namespace {namespace}: workloads but no LimitRange with a Container entry")
        for quota in mine:
            copies = int((meta(quota).get("annotations") or {}).get(COPIES_ANNOTATION, "1"))
            for resource, hard in sorted(((quota.get("spec") or {}).get("hard") or {}).items()):
                key = f"requests.{resource}" if resource in ("cpu", "memory") else resource
                wanted = need[namespace].get(key, Decimal(0)) * copies
                line = f"{namespace} {meta(quota).get('name')} {resource}: need {show(resource, wanted)} (x{copies}), quota {show(resource, quantity(hard))}"
                if wanted > quantity(hard):
                    problems.append(f"quota too small: {line}")
                else:
                    report.append(line)
    return problems, report


def limit_range_problems(where: str, container: dict, limit_range: dict | None) -> list[str]:
    if not limit_range:
        return []
    found = []
    requests, limits = container_resources(container, limit_range)
    for key, bound in (limit_range.get("max") or {}).items():
        for section, values in (("limits", limits), ("requests", requests)):
            if key in values and values[key] > quantity(bound):
                found.append(f"{where}: {section}.{key} {show(key, values[key])} over the LimitRange max {bound}")
    for key, bound in (limit_range.get("min") or {}).items():
        if key in requests and requests[key] < quantity(bound):
            found.append(f"{where}: requests.{key} {show(key, requests[key])} under the LimitRange min {bound}")
    return found


def load(text: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(text) if isinstance(doc, dict)]


# Two pods of 1 CPU / 1Gi at HPA max 4 with 25% surge = 5 pods; a StatefulSet of 2 with 10Gi claims; a GPU
# pod with an init container larger than its app container.
SELF_TEST = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: t}
spec:
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 25%, maxUnavailable: 0}}
  template:
    spec:
      containers:
        - name: web
          resources: {requests: {cpu: 500m, memory: 512Mi}, limits: {cpu: "1", memory: 1Gi}}
        - name: sidecar
          resources: {limits: {cpu: 500m, memory: 512Mi}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web, namespace: t}
spec: {scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}, minReplicas: 1, maxReplicas: 4}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: t}
spec:
  replicas: 2
  template:
    spec:
      initContainers:
        - name: init
          resources: {requests: {cpu: "2", memory: 128Mi}, limits: {cpu: "2", memory: 128Mi}}
      containers:
        - name: db
          resources: {requests: {cpu: 250m, memory: 1Gi}, limits: {cpu: "1", memory: 1Gi, nvidia.com/gpu: 1}}
  volumeClaimTemplates:
    - metadata: {name: data}
      spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 10Gi}}}
---
apiVersion: v1
kind: LimitRange
metadata: {name: limits, namespace: t}
spec:
  limits:
    - type: Container
      max: {cpu: "2", memory: 2Gi}
      default: {cpu: 500m, memory: 512Mi}
      defaultRequest: {cpu: 100m, memory: 128Mi}
"""
# Need: pods 5 + 2 = 7; requests.cpu 5 x 1000m + 2 x 2000m (the init container) = 9; requests.memory
# 5 x 1Gi + 2 x 1Gi = 7Gi; limits.cpu 5 x 1.5 + 2 x 2 = 11.5; limits.memory 5 x 1.5Gi + 2 x 1Gi = 9.5Gi;
# requests.nvidia.com/gpu 2; claims 2, storage 20Gi.
FITTING_QUOTA = """
apiVersion: v1
kind: ResourceQuota
metadata: {name: q, namespace: t}
spec:
  hard: {pods: "7", requests.cpu: "9", requests.memory: 7Gi, limits.cpu: 11500m, limits.memory: 9728Mi,
         requests.nvidia.com/gpu: "2", persistentvolumeclaims: "2", requests.storage: 20Gi}
"""
# Each bound one unit short of the need (or sized for one blue-green copy when two run).
SMALL_QUOTAS = [
    FITTING_QUOTA.replace('pods: "7"', 'pods: "6"'),
    FITTING_QUOTA.replace('requests.cpu: "9"', "requests.cpu: 8999m"),
    FITTING_QUOTA.replace("requests.memory: 7Gi", "requests.memory: 7167Mi"),
    FITTING_QUOTA.replace("limits.cpu: 11500m", "limits.cpu: 11499m"),
    FITTING_QUOTA.replace("limits.memory: 9728Mi", "limits.memory: 9727Mi"),
    FITTING_QUOTA.replace('requests.nvidia.com/gpu: "2"', 'requests.nvidia.com/gpu: "1"'),
    FITTING_QUOTA.replace('persistentvolumeclaims: "2"', 'persistentvolumeclaims: "1"'),
    FITTING_QUOTA.replace("requests.storage: 20Gi", "requests.storage: 19Gi"),
    FITTING_QUOTA.replace("name: q,", f'name: q, annotations: {{{COPIES_ANNOTATION}: "2"}},'),
]


def self_test() -> int:
    failures = []
    problems, _ = check(load(SELF_TEST + "---" + FITTING_QUOTA))
    if problems:
        failures.append(f"the fitting quota was refused: {problems}")
    for small in SMALL_QUOTAS:
        problems, _ = check(load(SELF_TEST + "---" + small))
        if not any(p.startswith("quota too small") for p in problems):
            failures.append(f"a too-small quota passed: {small.strip().splitlines()[-2:]}")
    over = SELF_TEST.replace('max: {cpu: "2", memory: 2Gi}', 'max: {cpu: "1", memory: 2Gi}')
    problems, _ = check(load(over + "---" + FITTING_QUOTA))
    if not any("over the LimitRange max" in p for p in problems):
        failures.append("a container over the LimitRange max passed")
    problems, _ = check(load(SELF_TEST.split("---\napiVersion: v1\nkind: LimitRange")[0]))
    if not any("no ResourceQuota" in p for p in problems) or not any("no LimitRange" in p for p in problems):
        failures.append(f"a namespace without quota or LimitRange passed: {problems}")
    for failure in failures:
        print(f"k8s-quota self-test: FAIL {failure}")
    if failures:
        return 1
    print(f"k8s-quota self-test: ok (fitting quota accepted, {len(SMALL_QUOTAS)} too-small quotas and the LimitRange cases caught)")
    return 0


def main(argv: list[str]) -> int:
    if argv == ["--self-test"]:
        return self_test()
    if not argv or any(a.startswith("--") for a in argv):
        print(__doc__.strip().split("\n\n")[-2], file=sys.stderr)
        return 2
    status = 0
    for path in argv:
        text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
        problems, report = check(load(text))
        for line in report:
            print(f"quota {path}: {line}")
        for problem in problems:
            print(f"quota {path}: FAIL {problem}")
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
