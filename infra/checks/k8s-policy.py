#!/usr/bin/env python3
"""Policy checks on rendered Kubernetes manifests (the output of `kubectl kustomize`).

Schema validity is kubernetes-validate's job; this checks what a schema cannot: every container has
liveness and readiness probes, CPU and memory requests and limits, runs as non-root on a read-only root
filesystem without privilege escalation, drops ALL capabilities under the RuntimeDefault seccomp profile,
uses a pinned image (a tag other than `latest`, or a digest); no secret value is written inline (env values,
ConfigMaps, Secret objects); every Deployment has an HPA and a PodDisruptionBudget; the gateway and the ingest
worker (by their `app.kubernetes.io/name`) use object storage, not local disk, with the same settings;
readiness probes and the Prometheus scrape port use the container port named `management` (readiness names
failing dependencies and metrics show internals: neither belongs on the port that Services route to).

Usage: k8s-policy.py FILE...   (multi-document YAML; `-` reads stdin)
       k8s-policy.py --self-test
Prints one line per file (`policy FILE: ok` or one `policy FILE: <object>: <problem>` per violation) and
exits 1 on any violation.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass

import yaml

WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"}
# Names whose values are credentials. `*_FILE` variables hold paths to mounted Secrets and are fine.
SECRET_NAME = re.compile(
    r"(^|_)(PASSWORD|PASSWD|SECRET|TOKEN|PEPPER|CREDENTIALS|API_KEY|APIKEY|PRIVATE_KEY|ACCESS_KEY)(_|$)"
    r"|^(DATABASE|REDIS)_URL$"
)
# A URL with a password in it (scheme://user:password@host), whatever the variable is called.
CREDENTIAL_URL = re.compile(r"^[a-z][a-z0-9+.-]*://[^/@:\s]*:[^/@\s]+@", re.IGNORECASE)
# The gateway stores uploaded files and the worker reads them back, from other pods: local disk (one pod's, on
# a read-only root filesystem) cannot carry them, and the two must agree on the bucket.
STORAGE_APPS = ("gateway", "ingest-worker")
STORAGE_SETTING = re.compile(r"^(STORAGE_DRIVER|STORAGE_ROOT|S3_[A-Z0-9_]+)$")


@dataclass(frozen=True)
class Violation:
    code: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message} [{self.code}]"


def object_name(obj: dict) -> str:
    meta = obj.get("metadata") or {}
    return f"{obj.get('kind', '?')}/{meta.get('name', '?')}"


def pod_spec_of(obj: dict) -> tuple[dict | None, dict]:
    """The pod spec and pod labels of a workload object."""
    kind = obj.get("kind")
    spec = obj.get("spec") or {}
    if kind == "Pod":
        return spec, (obj.get("metadata") or {}).get("labels") or {}
    if kind == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    template = spec.get("template") or {}
    return template.get("spec"), (template.get("metadata") or {}).get("labels") or {}


def is_secret_name(name: str) -> bool:
    return not name.endswith("_FILE") and bool(SECRET_NAME.search(name))


def check_image(image: str | None) -> str | None:
    if not image:
        return "has no image"
    if "@sha256:" in image:
        return None
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return f"image {image!r} is untagged (means latest)"
    if last.rsplit(":", 1)[1] == "latest":
        return f"image {image!r} uses the latest tag"
    return None


def check_container(container: dict, pod: dict, where: str, probes_required: bool) -> list[Violation]:
    found: list[Violation] = []

    def bad(code: str, message: str) -> None:
        found.append(Violation(code, where, message))

    if probes_required:
        for probe in ("livenessProbe", "readinessProbe"):
            if not container.get(probe):
                bad("probe", f"no {probe}")
        ready_port = ((container.get("readinessProbe") or {}).get("httpGet") or {}).get("port")
        if ready_port is not None and ready_port != MANAGEMENT_PORT_NAME:
            bad("management-port", f"readinessProbe uses port {ready_port}, not the `{MANAGEMENT_PORT_NAME}` port")

    resources = container.get("resources") or {}
    for section in ("requests", "limits"):
        values = resources.get(section) or {}
        for resource in ("cpu", "memory"):
            if resource not in values:
                bad("resources", f"no {resource} in resources.{section}")

    pod_sc = pod.get("securityContext") or {}
    sc = container.get("securityContext") or {}

    def effective(key: str):
        return sc.get(key, pod_sc.get(key))

    if effective("runAsNonRoot") is not True:
        bad("non-root", "runAsNonRoot is not true")
    if effective("runAsUser") == 0:
        bad("non-root", "runAsUser is 0")
    if sc.get("readOnlyRootFilesystem") is not True:
        bad("read-only-root", "readOnlyRootFilesystem is not true")
    if sc.get("allowPrivilegeEscalation") is not False:
        bad("privilege-escalation", "allowPrivilegeEscalation is not false")
    if sc.get("privileged") is True:
        bad("privilege-escalation", "privileged")
    drop = ((sc.get("capabilities") or {}).get("drop")) or []
    if "ALL" not in drop:
        bad("capabilities", "capabilities do not drop ALL")
    seccomp = effective("seccompProfile") or {}
    if seccomp.get("type") not in ("RuntimeDefault", "Localhost"):
        bad("seccomp", "no RuntimeDefault seccomp profile")

    problem = check_image(container.get("image"))
    if problem:
        bad("image", problem)

    for env in container.get("env") or []:
        name = env.get("name", "")
        if "value" not in env:
            continue
        value = str(env.get("value") or "")
        if is_secret_name(name) and value:
            bad("inline-secret", f"env {name} has an inline value; use valueFrom.secretKeyRef")
        elif CREDENTIAL_URL.search(value):
            bad("inline-secret", f"env {name} holds a URL with a password; use valueFrom.secretKeyRef")
    return found


def check_workload(obj: dict) -> list[Violation]:
    pod, _ = pod_spec_of(obj)
    name = object_name(obj)
    if not pod:
        return [Violation("workload", name, "no pod template")]
    found: list[Violation] = []
    for container in pod.get("containers") or []:
        found += check_container(container, pod, f"{name} container {container.get('name')}", True)
    found += check_scrape_port(obj, pod, name)
    for container in pod.get("initContainers") or []:
        # Init containers run to completion: probes do not apply, the rest does.
        found += check_container(container, pod, f"{name} initContainer {container.get('name')}", False)
    return found


MANAGEMENT_PORT_NAME = "management"


def check_scrape_port(obj: dict, pod: dict, name: str) -> list[Violation]:
    """The prometheus.io/port annotation must point at a container's management port."""
    template = (obj.get("spec") or {}).get("template") or {}
    annotations = (template.get("metadata") or {}).get("annotations") or {}
    if str(annotations.get("prometheus.io/scrape", "")).lower() != "true":
        return []
    management = {
        str(port.get("containerPort"))
        for container in pod.get("containers") or []
        for port in container.get("ports") or []
        if port.get("name") == MANAGEMENT_PORT_NAME
    }
    scraped = str(annotations.get("prometheus.io/port", ""))
    if scraped in management:
        return []
    return [Violation("management-port", name, f"prometheus.io/port {scraped or '(unset)'} is not a `{MANAGEMENT_PORT_NAME}` container port")]


def selector_matches(selector: dict | None, labels: dict) -> bool:
    if not selector:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def check_objects(objects: list[dict]) -> list[Violation]:
    found: list[Violation] = []
    for obj in objects:
        kind = obj.get("kind")
        if kind in WORKLOAD_KINDS:
            found += check_workload(obj)
        elif kind == "Secret" and ((obj.get("data") or {}) or (obj.get("stringData") or {})):
            found.append(
                Violation("inline-secret", object_name(obj), "Secret with values in the manifests; reference an externally managed Secret")
            )
        elif kind == "ConfigMap":
            for key, value in (obj.get("data") or {}).items():
                if is_secret_name(key) or CREDENTIAL_URL.search(str(value)):
                    found.append(Violation("inline-secret", object_name(obj), f"key {key} looks like a secret; put it in a Secret"))

    def namespace(obj: dict) -> str | None:
        return (obj.get("metadata") or {}).get("namespace")

    hpas = [o for o in objects if o.get("kind") == "HorizontalPodAutoscaler"]
    pdbs = [o for o in objects if o.get("kind") == "PodDisruptionBudget"]
    for deployment in (o for o in objects if o.get("kind") == "Deployment"):
        name = deployment["metadata"].get("name")
        _, labels = pod_spec_of(deployment)
        if not any(
            namespace(h) == namespace(deployment)
            and (h.get("spec") or {}).get("scaleTargetRef", {}).get("kind") == "Deployment"
            and (h.get("spec") or {}).get("scaleTargetRef", {}).get("name") == name
            for h in hpas
        ):
            found.append(Violation("hpa", object_name(deployment), "no HorizontalPodAutoscaler targets it"))
        if not any(
            namespace(p) == namespace(deployment) and selector_matches((p.get("spec") or {}).get("selector"), labels)
            for p in pdbs
        ):
            found.append(Violation("pdb", object_name(deployment), "no PodDisruptionBudget selects its pods"))
    return found + check_storage(objects)


def container_env(container: dict, configmaps: dict[str, dict]) -> dict[str, str]:
    """A container's environment as the kubelet would assemble it: ConfigMap values, other sources by reference."""
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix", "")
        if "configMapRef" in source:
            data = configmaps.get((source["configMapRef"] or {}).get("name"), {})
            env.update({prefix + key: str(value) for key, value in data.items()})
        elif "secretRef" in source:
            env[f"{prefix}*"] = f"secretRef {(source['secretRef'] or {}).get('name')}"
    for var in container.get("env") or []:
        if "value" in var:
            env[var.get("name", "")] = str(var.get("value") or "")
        else:
            env[var.get("name", "")] = repr(var.get("valueFrom"))
    return env


def check_storage(objects: list[dict]) -> list[Violation]:
    found: list[Violation] = []
    configmaps = {
        ((o.get("metadata") or {}).get("namespace"), (o.get("metadata") or {}).get("name")): o.get("data") or {}
        for o in objects
        if o.get("kind") == "ConfigMap"
    }
    # One gateway and one worker per namespace and blue-green color, which must agree with each other.
    groups: dict[tuple, dict[str, tuple[dict, dict[str, str]]]] = {}
    for obj in objects:
        if obj.get("kind") not in WORKLOAD_KINDS:
            continue
        pod, labels = pod_spec_of(obj)
        app = labels.get("app.kubernetes.io/name")
        if not pod or app not in STORAGE_APPS or not pod.get("containers"):
            continue
        namespace = (obj.get("metadata") or {}).get("namespace")
        in_namespace = {name: data for (ns, name), data in configmaps.items() if ns == namespace}
        env = container_env(pod["containers"][0], in_namespace)
        storage = {key: value for key, value in env.items() if STORAGE_SETTING.match(key)}
        if storage.get("STORAGE_DRIVER", "local") == "local":
            found.append(
                Violation("storage", object_name(obj), "STORAGE_DRIVER is local; uploads need object storage (s3) the gateway and the worker share")
            )
        groups.setdefault((namespace, labels.get("app.kubernetes.io/color")), {})[app] = (obj, storage)
    for members in groups.values():
        if len(members) < len(STORAGE_APPS):
            continue
        (gateway, ours), (worker, theirs) = members["gateway"], members["ingest-worker"]
        differing = sorted(k for k in ours.keys() | theirs.keys() if ours.get(k) != theirs.get(k))
        if differing:
            where = f"{object_name(gateway)} and {object_name(worker)}"
            found.append(Violation("storage", where, f"storage settings differ: {', '.join(differing)}"))
    return found


def load(text: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(text) if isinstance(doc, dict)]


GOOD_MANIFEST = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: good, namespace: t}
spec:
  selector: {matchLabels: {app: good}}
  template:
    metadata:
      labels: {app: good}
      annotations: {prometheus.io/scrape: "true", prometheus.io/port: "9080"}
    spec:
      securityContext: {runAsNonRoot: true, runAsUser: 10001, seccompProfile: {type: RuntimeDefault}}
      containers:
        - name: app
          image: rag/good:1.0.0
          ports: [{name: http, containerPort: 8080}, {name: management, containerPort: 9080}]
          env:
            - name: SERVICE_TOKEN
              valueFrom: {secretKeyRef: {name: s, key: SERVICE_TOKEN}}
            - name: SERVICE_TOKEN_FILE
              value: /run/secrets/token
          livenessProbe: {httpGet: {path: /health, port: 8080}}
          readinessProbe: {httpGet: {path: /health/ready, port: management}}
          resources: {requests: {cpu: 100m, memory: 64Mi}, limits: {cpu: "1", memory: 128Mi}}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: {drop: [ALL]}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: good, namespace: t}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: good}
  maxReplicas: 2
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: good, namespace: t}
spec:
  maxUnavailable: 1
  selector: {matchLabels: {app: good}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: good, namespace: t}
data: {EMBED_MAX_BATCH_TOKENS: "8192", RATE_LIMIT_PER_CREDENTIAL: "600", MILVUS_ADDRESS: "milvus:19530"}
"""

# The gateway and the worker on one bucket: each color's pair reads the same ConfigMap and Secret keys.
STORAGE_GOOD_MANIFEST = """
apiVersion: v1
kind: ConfigMap
metadata: {name: storage-1a2b, namespace: t}
data: {STORAGE_DRIVER: s3, S3_BUCKET: documents, S3_REGION: eu-west-1}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: gateway-blue, namespace: t}
spec:
  template:
    metadata: {labels: {app.kubernetes.io/name: gateway, app.kubernetes.io/color: blue}}
    spec:
      containers:
        - name: gateway
          envFrom: [{configMapRef: {name: storage-1a2b}}]
          env: [{name: S3_SECRET_ACCESS_KEY, valueFrom: {secretKeyRef: {name: s, key: S3_SECRET_ACCESS_KEY}}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: ingest-worker-blue, namespace: t}
spec:
  template:
    metadata: {labels: {app.kubernetes.io/name: ingest-worker, app.kubernetes.io/color: blue}}
    spec:
      containers:
        - name: ingest-worker
          env:
            - {name: S3_SECRET_ACCESS_KEY, valueFrom: {secretKeyRef: {name: s, key: S3_SECRET_ACCESS_KEY}}}
            - {name: STORAGE_DRIVER, value: s3}
          envFrom: [{configMapRef: {name: storage-1a2b}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: ingest-worker-green, namespace: t}
spec:
  template:
    metadata: {labels: {app.kubernetes.io/name: ingest-worker, app.kubernetes.io/color: green}}
    spec:
      containers:
        - name: ingest-worker
          env: [{name: STORAGE_DRIVER, value: s3}]
"""

# One of everything the policy forbids.
BAD_MANIFEST = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: bad, namespace: t}
spec:
  selector: {matchLabels: {app: bad}}
  template:
    metadata:
      labels: {app: bad}
      annotations: {prometheus.io/scrape: "true", prometheus.io/port: "8080"}
    spec:
      containers:
        - name: public-probe
          image: rag/bad:1.0.0
          ports: [{name: http, containerPort: 8080}]
          readinessProbe: {httpGet: {path: /health/ready, port: http}}
        - name: latest
          image: rag/bad:latest
          env:
            - {name: ADMIN_API_KEY, value: not-a-secret-at-all-really}
            - {name: SOME_URL, value: "postgres://app:hunter2@db:5432/app"}
          resources: {requests: {cpu: 100m}}
          securityContext: {runAsNonRoot: false, capabilities: {drop: [NET_RAW]}}
        - name: untagged
          image: rag/bad
          livenessProbe: {httpGet: {path: /health, port: 8080}}
---
apiVersion: v1
kind: Secret
metadata: {name: inline, namespace: t}
stringData: {SERVICE_TOKEN: plain-text}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: t}
data: {DATABASE_URL: "postgres://app:pw@db/app", LOG_LEVEL: info}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: gateway, namespace: t}
spec:
  template:
    metadata: {labels: {app.kubernetes.io/name: gateway}}
    spec:
      containers: [{name: gateway, image: rag/gateway:1.0.0}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: ingest-worker, namespace: t}
spec:
  template:
    metadata: {labels: {app.kubernetes.io/name: ingest-worker}}
    spec:
      containers:
        - name: ingest-worker
          image: rag/ingest-worker:1.0.0
          env: [{name: STORAGE_DRIVER, value: s3}, {name: S3_BUCKET, value: documents}]
"""

EXPECTED_BAD = {
    ("probe", "Deployment/bad container latest", "no livenessProbe"),
    ("probe", "Deployment/bad container latest", "no readinessProbe"),
    ("probe", "Deployment/bad container untagged", "no readinessProbe"),
    ("resources", "Deployment/bad container latest", "no memory in resources.requests"),
    ("resources", "Deployment/bad container latest", "no cpu in resources.limits"),
    ("non-root", "Deployment/bad container latest", "runAsNonRoot is not true"),
    ("read-only-root", "Deployment/bad container latest", "readOnlyRootFilesystem is not true"),
    ("privilege-escalation", "Deployment/bad container latest", "allowPrivilegeEscalation is not false"),
    ("capabilities", "Deployment/bad container latest", "capabilities do not drop ALL"),
    ("seccomp", "Deployment/bad container latest", "no RuntimeDefault seccomp profile"),
    ("image", "Deployment/bad container latest", "image 'rag/bad:latest' uses the latest tag"),
    ("image", "Deployment/bad container untagged", "image 'rag/bad' is untagged (means latest)"),
    ("inline-secret", "Deployment/bad container latest", "env ADMIN_API_KEY has an inline value; use valueFrom.secretKeyRef"),
    ("inline-secret", "Deployment/bad container latest", "env SOME_URL holds a URL with a password; use valueFrom.secretKeyRef"),
    ("inline-secret", "Secret/inline", "Secret with values in the manifests; reference an externally managed Secret"),
    ("inline-secret", "ConfigMap/cfg", "key DATABASE_URL looks like a secret; put it in a Secret"),
    ("management-port", "Deployment/bad container public-probe", "readinessProbe uses port http, not the `management` port"),
    ("management-port", "Deployment/bad", "prometheus.io/port 8080 is not a `management` container port"),
    ("hpa", "Deployment/bad", "no HorizontalPodAutoscaler targets it"),
    ("pdb", "Deployment/bad", "no PodDisruptionBudget selects its pods"),
    ("storage", "Deployment/gateway", "STORAGE_DRIVER is local; uploads need object storage (s3) the gateway and the worker share"),
    ("storage", "Deployment/gateway and Deployment/ingest-worker", "storage settings differ: S3_BUCKET, STORAGE_DRIVER"),
}


def self_test() -> int:
    failures = []
    good = check_objects(load(GOOD_MANIFEST))
    if good:
        failures.append(f"the good manifest was flagged: {[str(v) for v in good]}")
    storage = check_storage(load(STORAGE_GOOD_MANIFEST))
    if storage:
        failures.append(f"the good storage manifest was flagged: {[str(v) for v in storage]}")
    got = {(v.code, v.where, v.message) for v in check_objects(load(BAD_MANIFEST))}
    for missing in sorted(EXPECTED_BAD - got):
        failures.append(f"not flagged: {missing}")
    for problem in failures:
        print(f"k8s-policy self-test: FAIL {problem}")
    if failures:
        return 1
    print(f"k8s-policy self-test: ok (good manifests clean, {len(EXPECTED_BAD)} expected violations found)")
    return 0


def main(argv: list[str]) -> int:
    if argv == ["--self-test"]:
        return self_test()
    if not argv or any(a.startswith("--") for a in argv):
        print(__doc__.strip().split("\n\n")[-1], file=sys.stderr)
        return 2
    status = 0
    for path in argv:
        text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
        violations = check_objects(load(text))
        if not violations:
            print(f"policy {path}: ok")
        for violation in violations:
            print(f"policy {path}: FAIL {violation}")
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
