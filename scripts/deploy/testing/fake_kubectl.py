#!/usr/bin/env python3
"""A stand-in for kubectl and the cluster behind it, for dry runs of scripts/deploy/*.sh where no API server
can run (no kube-apiserver or etcd in the package registries these machines reach).

It keeps the cluster as a JSON file and implements only the kubectl commands the deploy scripts use, with
the checks an API server would make on them: every applied object is validated against the Kubernetes
OpenAPI schema (kubernetes-validate, strict), namespaced objects need their Namespace, a Deployment's
selector is immutable, `kustomize` is the real kubectl's. Port-forwards go to real local servers (a stack
of the four services), so the smoke gate talks HTTP to the real system.

Environment:
  FAKE_KUBE_DIR            folder for state.json (the cluster) and calls.jsonl (one line per invocation)
  FAKE_KUBE_ENDPOINTS      JSON {"<service>": "127.0.0.1:<port>"}: where a port-forward to that Service goes
  FAKE_KUBE_FAIL_ROLLOUT   regex: Deployments whose `rollout status` times out (a release that never gets ready)
  FAKE_KUBE_VERSION        Kubernetes version for schema validation (default 1.30.0)
  REAL_KUBECTL             the real kubectl, for `kubectl kustomize`
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

import yaml

CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume", "StorageClass"}
GROUPS = {
    "Deployment": "apps",
    "HorizontalPodAutoscaler": "autoscaling",
    "PodDisruptionBudget": "policy",
    "Ingress": "networking.k8s.io",
    "NetworkPolicy": "networking.k8s.io",
}
TYPES = {
    "deployment": "Deployment", "deployments": "Deployment", "deploy": "Deployment",
    "service": "Service", "services": "Service", "svc": "Service",
    "hpa": "HorizontalPodAutoscaler", "horizontalpodautoscaler": "HorizontalPodAutoscaler",
    "pdb": "PodDisruptionBudget", "poddisruptionbudget": "PodDisruptionBudget",
    "configmap": "ConfigMap", "configmaps": "ConfigMap", "cm": "ConfigMap",
    "namespace": "Namespace", "namespaces": "Namespace", "ns": "Namespace",
    "ingress": "Ingress", "networkpolicy": "NetworkPolicy",
}
PLURALS = {"Deployment": "deployments", "Service": "services", "HorizontalPodAutoscaler": "horizontalpodautoscalers",
           "PodDisruptionBudget": "poddisruptionbudgets", "ConfigMap": "configmaps", "Namespace": "namespaces",
           "Ingress": "ingresses", "NetworkPolicy": "networkpolicies"}


class KubectlError(Exception):
    pass


def state_dir() -> Path:
    folder = os.environ.get("FAKE_KUBE_DIR")
    if not folder:
        raise KubectlError("FAKE_KUBE_DIR is not set")
    Path(folder).mkdir(parents=True, exist_ok=True)
    return Path(folder)


def load() -> dict:
    path = state_dir() / "state.json"
    return json.loads(path.read_text()) if path.exists() else {"objects": {}}


def save(state: dict) -> None:
    path = state_dir() / "state.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=1, sort_keys=True))
    tmp.replace(path)


def key(kind: str, namespace: str | None, name: str) -> str:
    return f"{kind}/{name}" if kind in CLUSTER_SCOPED else f"{kind}/{namespace}/{name}"


def resource_name(kind: str, name: str) -> str:
    group = GROUPS.get(kind)
    return f"{kind.lower()}{'.' + group if group else ''}/{name}"


def not_found(kind: str, name: str) -> KubectlError:
    group = GROUPS.get(kind)
    plural = PLURALS.get(kind, kind.lower() + "s")
    return KubectlError(f'Error from server (NotFound): {plural}{"." + group if group else ""} "{name}" not found')


def jsonpath(obj, expression: str) -> str:
    """The `{.a.b\\.c[0].d}` subset of kubectl's JSONPath."""
    match = re.fullmatch(r"\{(.*)\}", expression)
    if not match:
        raise KubectlError(f"error: unsupported jsonpath {expression!r}")
    parts = re.findall(r"\.((?:\\\.|[^.\[])+)|\[(\d+)\]", match.group(1))
    value = obj
    for name, index in parts:
        if value is None:
            break
        if index:
            value = value[int(index)] if isinstance(value, list) and int(index) < len(value) else None
        else:
            value = value.get(name.replace("\\.", ".")) if isinstance(value, dict) else None
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for name, value in patch.items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = merge_patch(result.get(name), value)
    return result


def validate(obj: dict) -> None:
    import kubernetes_validate  # slow to import: only the commands that write objects need it

    version = os.environ.get("FAKE_KUBE_VERSION", "1.30.0")
    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        # Only custom resources (a VerticalPodAutoscaler, an operator's kinds) have no schema here: a real API
        # server validates them against their CRDs, which this stand-in does not have.
        pass
    except kubernetes_validate.ValidationError as error:
        raise KubectlError(
            f"error: error validating {resource_name(obj.get('kind', '?'), obj['metadata'].get('name', '?'))}: "
            f"{error.message} at {'.'.join(str(p) for p in error.path)}"
        ) from None


def read_manifests(args: list[str]) -> list[dict]:
    if "-k" in args:
        rendered = subprocess.run(
            [os.environ.get("REAL_KUBECTL", "kubectl"), "kustomize", args[args.index("-k") + 1]],
            check=False, capture_output=True, text=True,
        )
        if rendered.returncode != 0:
            raise KubectlError(rendered.stderr.strip())
        text = rendered.stdout
    elif "-f" in args:
        text = Path(args[args.index("-f") + 1]).read_text()
    else:
        raise KubectlError("error: must specify one of -f and -k")
    return [doc for doc in yaml.safe_load_all(text) if doc]


def apply(args: list[str], namespace: str | None) -> None:
    state = load()
    objects = state["objects"]
    docs = read_manifests(args)
    for obj in docs:
        validate(obj)
    lines = []
    for obj in docs:
        kind, meta = obj["kind"], obj["metadata"]
        ns = None if kind in CLUSTER_SCOPED else meta.get("namespace") or namespace or "default"
        if ns is not None and key("Namespace", None, ns) not in objects:
            raise KubectlError(f'Error from server (NotFound): namespaces "{ns}" not found')
        if ns is not None:
            meta["namespace"] = ns
        k = key(kind, ns, meta["name"])
        live = objects.get(k)
        if kind == "Deployment":
            spec = obj["spec"]
            if live is None:
                spec.setdefault("replicas", 1)
            else:
                if live["spec"]["selector"] != spec["selector"]:
                    raise KubectlError(
                        f'The Deployment "{meta["name"]}" is invalid: spec.selector: Invalid value: '
                        "field is immutable"
                    )
                # Apply leaves a field it never set alone: the HPA's (or `kubectl scale`'s) count stays.
                spec.setdefault("replicas", live["spec"]["replicas"])
                if live["spec"]["template"] != spec["template"]:
                    obj["previousTemplate"] = live["spec"]["template"]
                    obj["generation"] = live.get("generation", 1) + 1
                else:
                    obj["generation"] = live.get("generation", 1)
        verb = "created" if live is None else ("unchanged" if live == obj else "configured")
        objects[k] = obj
        lines.append(f"{resource_name(kind, meta['name'])} {verb}")
    save(state)
    print("\n".join(lines))


def find(state: dict, kind: str, namespace: str, name: str) -> dict | None:
    return state["objects"].get(key(kind, namespace, name))


def split_target(args: list[str]) -> tuple[str, str]:
    target = args[0]
    if "/" in target:
        type_name, name = target.split("/", 1)
    else:
        type_name, name = target, args[1]
    kind = TYPES.get(type_name.lower())
    if not kind:
        raise KubectlError(f'error: the server doesn\'t have a resource type "{type_name}"')
    return kind, name


def option(args: list[str], name: str) -> str | None:
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def get(args: list[str], namespace: str) -> None:
    state = load()
    positional = [a for a in args if not a.startswith("-") and a != option(args, "-o")]
    output = option(args, "-o") or ""
    kind = TYPES.get(positional[0].lower()) if positional else None
    if not kind:
        raise KubectlError(f"error: unsupported get {args}")
    if len(positional) == 1:
        names = sorted(o["metadata"]["name"] for k, o in state["objects"].items()
                       if o["kind"] == kind and o["metadata"].get("namespace") == namespace)
        print("\n".join(resource_name(kind, n) for n in names))
        return
    obj = find(state, kind, namespace, positional[1])
    if obj is None:
        if "--ignore-not-found" in args:
            return
        raise not_found(kind, positional[1])
    if output == "name":
        print(resource_name(kind, positional[1]))
    elif output == "json":
        print(json.dumps({k: v for k, v in obj.items() if k not in ("previousTemplate", "generation")}, indent=2))
    elif output.startswith("jsonpath="):
        sys.stdout.write(jsonpath(obj, output.split("=", 1)[1]))
    else:
        print(f"NAME\n{positional[1]}")


def deployment(state: dict, namespace: str, name: str) -> dict:
    obj = find(state, "Deployment", namespace, name)
    if obj is None:
        raise not_found("Deployment", name)
    return obj


def rollout_fails(name: str) -> bool:
    pattern = os.environ.get("FAKE_KUBE_FAIL_ROLLOUT")
    return bool(pattern) and re.search(pattern, name) is not None


def rollout(args: list[str], namespace: str) -> None:
    state = load()
    kind, name = split_target(args[1:])
    obj = deployment(state, namespace, name)
    if args[0] == "status":
        if rollout_fails(name) and obj["spec"]["replicas"] > 0:
            print(f'Waiting for deployment "{name}" rollout to finish: 0 of {obj["spec"]["replicas"]} '
                  "updated replicas are available...")
            raise KubectlError("error: timed out waiting for the condition")
        print(f'deployment "{name}" successfully rolled out')
    elif args[0] == "undo":
        previous = obj.pop("previousTemplate", None)
        if previous is None:
            raise KubectlError(f'error: no rollout history found for deployment "{name}"')
        obj["spec"]["template"] = previous
        save(state)
        print(f"deployment.apps/{name} rolled back")
    else:
        raise KubectlError(f"error: unsupported rollout {args[0]}")


def scale(args: list[str], namespace: str) -> None:
    state = load()
    _, name = split_target(args)
    replicas = option(args, "--replicas")
    if replicas is None or not replicas.isdigit():
        raise KubectlError("error: --replicas=COUNT is required")
    deployment(state, namespace, name)["spec"]["replicas"] = int(replicas)
    save(state)
    print(f"deployment.apps/{name} scaled")


def patch(args: list[str], namespace: str) -> None:
    state = load()
    kind, name = split_target(args)
    if option(args, "--type") != "merge":
        raise KubectlError("error: only --type=merge patches are supported here")
    obj = find(state, kind, namespace, name)
    if obj is None:
        raise not_found(kind, name)
    patched = merge_patch(obj, json.loads(option(args, "-p") or "{}"))
    validate(patched)
    state["objects"][key(kind, namespace, name)] = patched
    save(state)
    print(f"{resource_name(kind, name)} patched")


def labels_match(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def port_forward(args: list[str], namespace: str) -> None:
    state = load()
    kind, name = split_target(args[:1])
    if kind != "Service":
        raise KubectlError("error: only service/NAME port-forwards are supported here")
    service = find(state, "Service", namespace, name)
    if service is None:
        raise not_found("Service", name)
    selector = service["spec"].get("selector") or {}
    running = [
        o for o in state["objects"].values()
        if o["kind"] == "Deployment" and o["metadata"].get("namespace") == namespace
        and o["spec"]["replicas"] > 0 and not rollout_fails(o["metadata"]["name"])
        and labels_match(selector, o["spec"]["template"]["metadata"].get("labels") or {})
    ]
    upstream = json.loads(os.environ.get("FAKE_KUBE_ENDPOINTS", "{}")).get(name)
    if not running or not upstream:
        raise KubectlError(f"error: unable to forward port because no pod of service/{name} is running")
    host, port = upstream.rsplit(":", 1)
    listener = socket.create_server(("127.0.0.1", 0))
    target_port = args[1].split(":")[-1] if len(args) > 1 else "http"
    print(f"Forwarding from 127.0.0.1:{listener.getsockname()[1]} -> {target_port}", flush=True)

    def pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    while True:
        client, _ = listener.accept()
        try:
            server = socket.create_connection((host, int(port)))
        except OSError as error:
            print(f"E0000 portforward: error forwarding to {upstream}: {error}", file=sys.stderr, flush=True)
            client.close()
            continue
        threading.Thread(target=pipe, args=(client, server), daemon=True).start()
        threading.Thread(target=pipe, args=(server, client), daemon=True).start()


def main(argv: list[str]) -> int:
    namespace = "default"
    args: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("-n", "--namespace"):
            namespace = argv[i + 1]
            i += 2
            continue
        if arg.startswith("--namespace="):
            namespace = arg.split("=", 1)[1]
        else:
            args.append(arg)
        i += 1
    try:
        if args and args[0] == "kustomize":
            return subprocess.run([os.environ.get("REAL_KUBECTL", "kubectl"), *args], check=False).returncode
        with (state_dir() / "calls.jsonl").open("a") as calls:
            calls.write(json.dumps({"namespace": namespace, "args": args}) + "\n")
        command, rest = (args[0], args[1:]) if args else ("", [])
        handlers = {"apply": apply, "get": get, "rollout": rollout, "scale": scale, "patch": patch,
                    "port-forward": port_forward}
        if command not in handlers:
            raise KubectlError(f'error: unknown command "{command}" for the fake kubectl')
        handlers[command](rest, namespace)
        return 0
    except KubectlError as error:
        print(error, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
