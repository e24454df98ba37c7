#!/usr/bin/env python3
"""Checks that horizontal and vertical autoscaling of each Deployment cannot fight.

Every Deployment needs a VerticalPodAutoscaler (its recommendations size the requests in the overlays) whose
targetRef names it and whose containerPolicies name only its containers. Where an HPA scales the same
Deployment on CPU or memory utilization, the VPA must only recommend (updateMode "Off"): utilization is
usage divided by the request, so a VPA that rewrote requests ("Auto", "Recreate", "InPlaceOrRecreate",
"Initial") would move the HPA's target while the HPA acts on it. The VPA CRD has no schema in
kubernetes-validate, so its shape is checked here too.

Usage: k8s-autoscaling.py FILE...   (multi-document YAML, the output of `kubectl kustomize`)
       k8s-autoscaling.py --self-test
"""

from __future__ import annotations

import sys

import yaml

UPDATE_MODES = {"Off", "Initial", "Recreate", "Auto", "InPlaceOrRecreate"}


def key(obj: dict, name: str | None = None) -> tuple:
    meta = obj.get("metadata") or {}
    return meta.get("namespace"), name or meta.get("name")


def check(objects: list[dict]) -> list[str]:
    problems: list[str] = []
    deployments = {key(o): o for o in objects if o.get("kind") == "Deployment"}
    resource_hpas = set()
    for hpa in (o for o in objects if o.get("kind") == "HorizontalPodAutoscaler"):
        target = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
        metrics = (hpa.get("spec") or {}).get("metrics") or []
        if any(m.get("type") in ("Resource", "ContainerResource") for m in metrics):
            resource_hpas.add(key(hpa, target.get("name")))
    covered = set()
    for vpa in (o for o in objects if o.get("kind") == "VerticalPodAutoscaler"):
        name = f"VerticalPodAutoscaler/{key(vpa)[1]}"
        spec = vpa.get("spec") or {}
        if vpa.get("apiVersion") != "autoscaling.k8s.io/v1":
            problems.append(f"{name}: apiVersion {vpa.get('apiVersion')}, not autoscaling.k8s.io/v1")
        target = spec.get("targetRef") or {}
        deployment = deployments.get(key(vpa, target.get("name")))
        if target.get("kind") != "Deployment" or target.get("apiVersion") != "apps/v1" or not deployment:
            problems.append(f"{name}: targetRef {target} names no Deployment in its namespace")
            continue
        covered.add(key(deployment))
        mode = (spec.get("updatePolicy") or {}).get("updateMode", "Auto")
        if mode not in UPDATE_MODES:
            problems.append(f"{name}: unknown updateMode {mode!r}")
        if key(deployment) in resource_hpas and mode != "Off":
            problems.append(f"{name}: updateMode {mode} on a Deployment whose HPA scales on CPU/memory; use Off")
        containers = {c.get("name") for c in ((deployment["spec"].get("template") or {}).get("spec") or {}).get("containers") or []}
        for policy in (spec.get("resourcePolicy") or {}).get("containerPolicies") or []:
            if policy.get("containerName") not in containers | {"*"}:
                problems.append(f"{name}: containerPolicies name {policy.get('containerName')!r}, not a container of {target['name']}")
    for missing in sorted(set(deployments) - covered, key=str):
        problems.append(f"Deployment/{missing[1]}: no VerticalPodAutoscaler targets it")
    return problems


GOOD = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: t}
spec: {template: {spec: {containers: [{name: web}]}}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web, namespace: t}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  maxReplicas: 3
  metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}}]
---
apiVersion: autoscaling.k8s.io/v1
kind: VerticalPodAutoscaler
metadata: {name: web, namespace: t}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  updatePolicy: {updateMode: "Off"}
  resourcePolicy: {containerPolicies: [{containerName: web}]}
"""
BAD = {
    "updateMode Auto on a Deployment whose HPA": GOOD.replace('updateMode: "Off"', "updateMode: Auto"),
    "no updatePolicy (Auto)": GOOD.replace('updatePolicy: {updateMode: "Off"}', "resourcePolicy: {}"),
    "names no Deployment": GOOD.replace("kind: Deployment, name: web}\n  updatePolicy", "kind: Deployment, name: webb}\n  updatePolicy"),
    "not a container of": GOOD.replace("containerName: web}", "containerName: sidecar}"),
    "no VerticalPodAutoscaler targets it": GOOD.split("---\napiVersion: autoscaling.k8s.io/v1")[0],
}


def load(text: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(text) if isinstance(doc, dict)]


def self_test() -> int:
    failures = [f"the good manifest was flagged: {p}" for p in check(load(GOOD))]
    for expected, manifest in BAD.items():
        problems = check(load(manifest))
        wanted = "updateMode Auto on" if expected.startswith("no updatePolicy") else expected
        if not any(wanted in p for p in problems):
            failures.append(f"not caught: {expected} (got {problems})")
    for failure in failures:
        print(f"k8s-autoscaling self-test: FAIL {failure}")
    if not failures:
        print(f"k8s-autoscaling self-test: ok ({len(BAD)} bad cases caught)")
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
        print(f"autoscaling {path}: ok" if not problems else "", end="\n" if not problems else "")
        for problem in problems:
            print(f"autoscaling {path}: FAIL {problem}")
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
